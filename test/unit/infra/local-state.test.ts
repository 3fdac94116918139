// Where `npm start` keeps its state and how --fresh clears it (infra/local/local-state.ts).
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clearSavedState,
  displayPath,
  localStateFiles,
  readSavedAwsState,
  writePrivateFile,
} from '#infra/local/local-state.ts';

const directory = mkdtempSync(join(tmpdir(), 'clinic-wa-local-state-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('localStateFiles', () => {
  it('keeps everything in the project’s .local/ unless LOCAL_STATE_DIR says elsewhere', () => {
    expect(localStateFiles({}, '/project')).toEqual({
      dir: '/project/.local',
      awsState: '/project/.local/aws-state.pickle',
      simulatorSnapshot: '/project/.local/simulator-state.json',
      adminKey: '/project/.local/admin-key',
      demoTenant: '/project/.local/demo-tenant.json',
      awsEnv: '/project/.local/local-aws.env',
      platform: '/project/.local/platform.json',
      startDetails: '/project/.local/start-details.txt',
    });
    expect(localStateFiles({ LOCAL_STATE_DIR: '/tmp/state' }, '/project').awsState).toBe(
      '/tmp/state/aws-state.pickle',
    );
    expect(localStateFiles({ LOCAL_STATE_DIR: '' }, '/project').dir).toBe('/project/.local');
  });

  it('takes a relative LOCAL_STATE_DIR from the current directory', () => {
    expect(localStateFiles({ LOCAL_STATE_DIR: 'state' }, '/project').dir).toBe(join(process.cwd(), 'state'));
  });
});

describe('clearSavedState', () => {
  it('removes the AWS and simulator state and the demo tenant, keeps the admin key, and says what it removed', () => {
    const files = localStateFiles({ LOCAL_STATE_DIR: join(directory, 'clear') });
    rmSync(files.dir, { recursive: true, force: true });
    expect(clearSavedState(files)).toEqual([]);
    mkdirSync(files.dir);
    for (const file of [files.awsState, files.simulatorSnapshot, files.demoTenant, files.adminKey]) {
      writeFileSync(file, 'x');
    }
    expect(clearSavedState(files)).toEqual([files.awsState, files.simulatorSnapshot, files.demoTenant]);
    expect(existsSync(files.awsState)).toBe(false);
    expect(existsSync(files.simulatorSnapshot)).toBe(false);
    expect(existsSync(files.demoTenant)).toBe(false);
    expect(existsSync(files.adminKey)).toBe(true);
  });
});

describe('displayPath and writePrivateFile', () => {
  it('shows a path inside the current directory relative to it, any other absolute', () => {
    expect(displayPath('/repo/.local/admin-key', '/repo')).toBe('.local/admin-key');
    expect(displayPath('/tmp/state/admin-key', '/repo')).toBe('/tmp/state/admin-key');
    expect(displayPath('/repo', '/repo')).toBe('/repo');
  });

  it('leaves a file readable by its owner only, even one that was not', () => {
    const file = join(directory, 'private', 'key');
    writePrivateFile(file, 'one\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644);
    writePrivateFile(file, 'two\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('two\n');
  });
});

describe('readSavedAwsState', () => {
  it('reads the header line of a saved state, and nothing when there is no file', () => {
    const file = join(directory, 'saved.pickle');
    const header = {
      magic: 'clinic-wa moto state',
      format: 1,
      moto: '5.2.5',
      savedAt: '2026-01-01T00:00:00Z',
      backends: ['sqs/1/us-east-1'],
    };
    writeFileSync(
      file,
      Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), Buffer.from([0x80, 0x05, 0x0a, 0xff])]),
    );
    expect(readSavedAwsState(file)).toEqual({
      savedAt: '2026-01-01T00:00:00Z',
      moto: '5.2.5',
      backends: ['sqs/1/us-east-1'],
    });
    expect(readSavedAwsState(join(directory, 'none.pickle'))).toBeUndefined();
  });

  it('refuses a file that is not a saved state', () => {
    const file = join(directory, 'other.json');
    writeFileSync(file, '{"simulator": true}\n');
    expect(() => readSavedAwsState(file)).toThrow(/no valid header/);
  });
});
