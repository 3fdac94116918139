// Where `npm run demo` looks for the running platform: `.local/platform.json` when it is there, else
// the ports `npm start` serves on, and the admin key `npm start` keeps.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DemoSetupError, resolveDemoTargets } from '#infra/local/demo/targets.ts';

let root: string;
let warnings: string[];
const warn = (line: string) => warnings.push(line);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'demo-targets-'));
  mkdirSync(join(root, '.local'));
  writeFileSync(join(root, '.local', 'admin-key'), 'adm_from_file\n');
  warnings = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const writePlatformFile = (content: string) => writeFileSync(join(root, '.local', 'platform.json'), content);

describe('the targets of npm run demo', () => {
  it("uses npm start's ports, their defaults and .local/admin-key without a platform file", () => {
    expect(resolveDemoTargets(root, {}, warn)).toEqual({
      apiUrl: 'http://127.0.0.1:3000',
      simulatorUrl: 'http://127.0.0.1:7000',
      adminKey: 'adm_from_file',
      demoTenantId: null,
      source: 'LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults',
    });
    expect(
      resolveDemoTargets(
        root,
        { LOCAL_API_PORT: '7310', LOCAL_SIM_PORT: '7302', ADMIN_API_KEY: 'adm_env' },
        warn,
      ),
    ).toMatchObject({
      apiUrl: 'http://127.0.0.1:7310',
      simulatorUrl: 'http://127.0.0.1:7302',
      adminKey: 'adm_env',
    });
    expect(warnings).toEqual([]);
  });

  it('takes the URLs and the demo tenant from .local/platform.json', () => {
    writePlatformFile(
      JSON.stringify({
        apiUrl: 'http://127.0.0.1:4100/',
        simulatorUrl: 'http://127.0.0.1:4200',
        demoTenant: { id: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW', name: 'Clínica Demo' },
        runnerHealthUrl: 'http://127.0.0.1:4300/healthz',
      }),
    );
    expect(resolveDemoTargets(root, { LOCAL_API_PORT: '7310' }, warn)).toEqual({
      apiUrl: 'http://127.0.0.1:4100',
      simulatorUrl: 'http://127.0.0.1:4200',
      adminKey: 'adm_from_file',
      demoTenantId: 'ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW',
      source: '.local/platform.json',
    });
  });

  it('falls back to the defaults, saying why, when the platform file is unreadable', () => {
    writePlatformFile('{ not json');
    expect(resolveDemoTargets(root, {}, warn).apiUrl).toBe('http://127.0.0.1:3000');
    writePlatformFile(JSON.stringify({ apiUrl: 42 }));
    expect(resolveDemoTargets(root, {}, warn).source).toBe('LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^\.local\/platform\.json is not JSON/);
    expect(warnings[1]).toMatch(/^\.local\/platform\.json has no URLs the demo knows/);
  });

  it('asks whether npm start runs when there is no admin key', () => {
    rmSync(join(root, '.local', 'admin-key'));
    expect(() => resolveDemoTargets(root, {}, warn)).toThrow(DemoSetupError);
    expect(() => resolveDemoTargets(root, {}, warn)).toThrow(
      /admin-key is missing\. Is `npm start` running\?/,
    );
  });
});
