// Where `npm start` keeps its state and how LOCAL_FRESH clears it (infra/local/local-state.ts).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSavedState, localStateFromEnvironment, readSavedAwsState } from '#infra/local/local-state.ts';

const directory = mkdtempSync(join(tmpdir(), 'clinic-wa-local-state-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('localStateFromEnvironment', () => {
  it('keeps everything in the project’s .local/ unless LOCAL_STATE_DIR says elsewhere', () => {
    expect(localStateFromEnvironment('/project', {})).toEqual({
      directory: '/project/.local',
      awsStateFile: '/project/.local/aws-state.pickle',
      simulatorStateFile: '/project/.local/simulator-state.json',
      adminKeyFile: '/project/.local/admin-key',
      envFile: '/project/.local/local-aws.env',
      fresh: false,
    });
    expect(localStateFromEnvironment('/project', { LOCAL_STATE_DIR: '/tmp/state' }).awsStateFile).toBe(
      '/tmp/state/aws-state.pickle',
    );
  });

  it('reads LOCAL_FRESH as a boolean and refuses anything else', () => {
    for (const [value, fresh] of [
      ['true', true],
      ['1', true],
      ['TRUE', true],
      ['false', false],
      ['0', false],
      ['', false],
    ] as const) {
      expect(localStateFromEnvironment('/project', { LOCAL_FRESH: value }).fresh).toBe(fresh);
    }
    expect(() => localStateFromEnvironment('/project', { LOCAL_FRESH: 'yes please' })).toThrow(
      /LOCAL_FRESH must be true or false, got yes please/,
    );
  });
});

describe('clearSavedState', () => {
  it('removes the AWS and simulator state, keeps the admin key, and says what it removed', () => {
    const state = localStateFromEnvironment('/project', { LOCAL_STATE_DIR: join(directory, 'clear') });
    rmSync(state.directory, { recursive: true, force: true });
    expect(clearSavedState(state)).toEqual([]);
    mkdirSync(state.directory);
    for (const file of [state.awsStateFile, state.simulatorStateFile, state.adminKeyFile]) {
      writeFileSync(file, 'x');
    }
    expect(clearSavedState(state)).toEqual([state.awsStateFile, state.simulatorStateFile]);
    expect(existsSync(state.awsStateFile)).toBe(false);
    expect(existsSync(state.simulatorStateFile)).toBe(false);
    expect(existsSync(state.adminKeyFile)).toBe(true);
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
