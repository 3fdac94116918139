// Where `npm run demo` looks for the running platform: the platform.json `npm start` wrote in its
// state directory (LOCAL_STATE_DIR here) when it is there, else the ports `npm start` serves on, and
// the admin key `npm start` keeps.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DemoSetupError, resolveDemoTargets } from '#infra/local/demo/targets.ts';
import type { PlatformFile } from '#infra/local/platform-file.ts';

let stateDir: string;
let env: NodeJS.ProcessEnv;
let warnings: string[];
const warn = (line: string) => warnings.push(line);

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'demo-targets-'));
  writeFileSync(join(stateDir, 'admin-key'), 'adm_from_file\n');
  env = { LOCAL_STATE_DIR: stateDir };
  warnings = [];
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

/** What start.ts writes (platformFileSchema), with this test's state directory. */
const platform = (): PlatformFile => ({
  version: 1,
  pid: 4242,
  startedAt: '2026-12-01T09:30:00.000Z',
  apiUrl: 'http://127.0.0.1:4100',
  docsUrl: 'http://127.0.0.1:4100/docs',
  openApiUrl: 'http://127.0.0.1:4100/v1/openapi.json',
  dashboardUrl: 'http://127.0.0.1:4400',
  adminKeyFile: join(stateDir, 'admin-key'),
  simulatorUrl: 'http://127.0.0.1:4200/',
  whatsapp: { mode: 'simulator', webSocketUrl: 'ws://127.0.0.1:4200/ws/chat', startedHere: true },
  runners: [{ runnerId: 'local-runner-1', healthUrl: 'http://127.0.0.1:4300/healthz' }],
  demoTenant: {
    id: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
    name: 'Clínica Demo',
    keyId: 'key_01',
    apiKey: 'cwa_x',
  },
  virtualPhone: { phoneNumber: '5511977770001', jid: '5511977770001@s.whatsapp.net' },
});
const writePlatformFile = (content: unknown) =>
  writeFileSync(
    join(stateDir, 'platform.json'),
    typeof content === 'string' ? content : JSON.stringify(content),
  );

describe('the targets of npm run demo', () => {
  it("uses npm start's ports, their defaults and the state directory's admin key without a platform file", () => {
    expect(resolveDemoTargets(env, warn)).toEqual({
      apiUrl: 'http://127.0.0.1:3000',
      simulatorUrl: 'http://127.0.0.1:7000',
      adminKey: 'adm_from_file',
      demoTenantId: null,
      clinicPhoneNumber: null,
      source: 'LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults',
    });
    expect(
      resolveDemoTargets(
        { ...env, LOCAL_API_PORT: '7310', LOCAL_SIM_PORT: '7302', ADMIN_API_KEY: 'adm_env' },
        warn,
      ),
    ).toMatchObject({
      apiUrl: 'http://127.0.0.1:7310',
      simulatorUrl: 'http://127.0.0.1:7302',
      adminKey: 'adm_env',
    });
    expect(warnings).toEqual([]);
  });

  it("takes the URLs, the demo tenant and the virtual phone from the state directory's platform.json", () => {
    writePlatformFile(platform());
    expect(resolveDemoTargets({ ...env, LOCAL_API_PORT: '7310' }, warn)).toEqual({
      apiUrl: 'http://127.0.0.1:4100',
      simulatorUrl: 'http://127.0.0.1:4200',
      adminKey: 'adm_from_file',
      demoTenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
      clinicPhoneNumber: '5511977770001',
      source: join(stateDir, 'platform.json'),
    });
    expect(warnings).toEqual([]);
  });

  it('reads the admin key from the file platform.json names, or ADMIN_API_KEY when npm start had it there', () => {
    const elsewhere = join(stateDir, 'other-key');
    writeFileSync(elsewhere, 'adm_elsewhere\n');
    writePlatformFile({ ...platform(), adminKeyFile: elsewhere });
    expect(resolveDemoTargets(env, warn).adminKey).toBe('adm_elsewhere');
    writePlatformFile({ ...platform(), adminKeyFile: null });
    expect(resolveDemoTargets({ ...env, ADMIN_API_KEY: 'adm_env' }, warn).adminKey).toBe('adm_env');
    expect(() => resolveDemoTargets(env, warn)).toThrow(/set the same ADMIN_API_KEY for the demo/);
  });

  it('pairs with its own phone when npm start made none, and refuses a platform without a simulator admin API', () => {
    writePlatformFile({ ...platform(), virtualPhone: null });
    expect(resolveDemoTargets(env, warn).clinicPhoneNumber).toBeNull();
    writePlatformFile({ ...platform(), simulatorUrl: null, whatsapp: { mode: 'live' }, virtualPhone: null });
    expect(() => resolveDemoTargets(env, warn)).toThrow(DemoSetupError);
    expect(() => resolveDemoTargets(env, warn)).toThrow(/no simulator admin API \(live WhatsApp\)/);
  });

  it('falls back to the defaults, saying why, when the platform file is unreadable or not what npm start writes', () => {
    writePlatformFile('{ not json');
    expect(resolveDemoTargets(env, warn).apiUrl).toBe('http://127.0.0.1:3000');
    writePlatformFile({ apiUrl: 'http://127.0.0.1:4100', simulatorUrl: 'http://127.0.0.1:4200' });
    expect(resolveDemoTargets(env, warn).source).toBe('LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults');
    const shown = join(stateDir, 'platform.json');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.startsWith(`${shown} is not JSON (`)).toBe(true);
    expect(warnings[1]?.startsWith(`${shown} is not what npm start writes (`)).toBe(true);
  });

  it('asks whether npm start runs when there is no admin key', () => {
    rmSync(join(stateDir, 'admin-key'));
    expect(() => resolveDemoTargets(env, warn)).toThrow(DemoSetupError);
    expect(() => resolveDemoTargets(env, warn)).toThrow(/admin-key is missing\. Is `npm start` running\?/);
  });
});
