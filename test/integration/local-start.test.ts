// `npm start` as a newcomer runs it: infra/local/start.ts as its own process with two runners, on
// ports and a state directory of its own (it starts its own moto, beside the suite's). Waits for the
// summary, then checks what it promised: the demo key works against the API, platform.json names a
// connected virtual phone, the runners split the shards, the dashboard serves the app and the API,
// the demo tenant and phone are found again, and Ctrl-C stops everything. Then a start whose moto
// port is taken says so in one line.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_KEY_SCOPES, DEMO_TENANT_NAME, ensureDemoTenant } from '#infra/local/demo-tenant.ts';
import { freePort } from '#infra/local/moto-server.ts';
import { type PlatformFile, readPlatformFile } from '#infra/local/platform-file.ts';
import { DEMO_PHONE_NUMBER, ensureVirtualPhone } from '#infra/local/virtual-phone.ts';

const ROOT = join(import.meta.dirname, '../..');
const STARTED = 'clinic-wa is running';
const START_TIMEOUT_MS = 240_000;
const SHARDS = 16;

async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Two consecutive free ports: the runners' health ports are LOCAL_RUNNER_HEALTH_PORT and the next. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const base = await freePort();
    const nextFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(base + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (nextFree) return base;
  }
}

const healthSchema = z.object({ healthy: z.boolean(), runnerId: z.string(), shards: z.array(z.number()) });

describe('npm start', () => {
  let stateDir: string;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let platform: PlatformFile;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'clinic-wa-start-'));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'infra/local/start.ts'), '--runners', '2'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          // Its own moto and its own admin key, whatever the shell running the suite exports.
          CLINIC_WA_EXTERNAL_AWS: undefined,
          ADMIN_API_KEY: undefined,
          LOCAL_STATE_DIR: stateDir,
          LOCAL_AWS_PORT: String(await freePort()),
          LOCAL_SIM_PORT: '0',
          LOCAL_API_PORT: '0',
          LOCAL_DASHBOARD_PORT: '0',
          LOCAL_RUNNER_HEALTH_PORT: String(await twoFreePorts()),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([
      poll(async () => (output.includes(STARTED) ? true : undefined), 'the summary', START_TIMEOUT_MS),
      exited.then((code) => {
        throw new Error(`start.ts exited with ${code} before its summary:\n${output}`);
      }),
    ]);
    platform = readPlatformFile(join(stateDir, 'platform.json'));
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const stopped = await Promise.race([exited, sleep(60_000).then(() => 'late')]);
      if (stopped === 'late') child.kill('SIGKILL');
    }
    rmSync(stateDir, { recursive: true, force: true });
  }, 90_000);

  it('prints a line per part, then the summary with the URLs, the keys and the phone', () => {
    const [progress = '', summary = ''] = output.split(`\n${STARTED}`);
    const partLines = progress.split('\n').filter((line) => line.startsWith('✓ '));
    expect(partLines.map((line) => line.slice(2).split(' (')[0])).toEqual([
      'local AWS',
      'WhatsApp simulator',
      '2 runners',
      'API',
      'queue consumers',
      'dashboard',
      'demo tenant',
      'virtual phone',
    ]);
    // The resource list and the environment exports stay out of the terminal without --verbose.
    expect(output).not.toContain('export AWS_ENDPOINT_URL=');
    expect(readFileSync(join(stateDir, 'start-details.txt'), 'utf8')).toContain(`export AWS_ENDPOINT_URL='`);
    expect(summary).toContain(`  API              ${platform.apiUrl}\n`);
    expect(summary).toContain(`  API docs         ${platform.apiUrl}/docs\n`);
    expect(platform.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(summary).toContain(`  dashboard        ${platform.dashboardUrl}  (sign in with`);
    expect(summary).toMatch(/\n {2}admin key {8}adm_\S+ {2}\(.+admin-key\)\n/);
    expect(summary).toContain(`  state            new, kept in ${stateDir}/ for the next start`);
    expect(summary).toContain(`  demo tenant      ${DEMO_TENANT_NAME}  ${platform.demoTenant.id}  (new)\n`);
    expect(summary).toContain(`  demo API key     ${platform.demoTenant.apiKey}  (`);
    expect(summary).toContain(
      `  virtual phone    +${DEMO_PHONE_NUMBER}  ready to scan a channel's QR  (new)\n`,
    );
    // What the old start printed per part, now in the details file.
    const details = readFileSync(join(stateDir, 'start-details.txt'), 'utf8');
    expect(details).toContain('WEBHOOK_ALLOW_LOOPBACK');
    expect(details).toContain(
      `curl -s -X POST ${platform.apiUrl}/v1/tenants -H "Authorization: Bearer $(cat `,
    );
    expect(details).toContain(`Dashboard: ${platform.dashboardUrl}`);
    expect(summary).toContain(
      `curl -s ${platform.apiUrl}/v1/channels -H "Authorization: Bearer ${platform.demoTenant.apiKey}"`,
    );
  });

  it('hands over a demo key that the API takes, with every tenant scope', async () => {
    const channels = await fetch(`${platform.apiUrl}/v1/channels`, {
      headers: { authorization: `Bearer ${platform.demoTenant.apiKey}` },
    });
    expect(channels.status).toBe(200);
    expect(await channels.json()).toEqual({ items: [], nextCursor: null });

    const adminKey = readFileSync(join(stateDir, 'admin-key'), 'utf8').trim();
    const keys = await fetch(`${platform.apiUrl}/v1/tenants/${platform.demoTenant.id}/api-keys`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(keys.status).toBe(200);
    const { items } = (await keys.json()) as { items: { id: string; scopes: string[] }[] };
    expect(items).toEqual([
      expect.objectContaining({ id: platform.demoTenant.keyId, scopes: DEMO_KEY_SCOPES }),
    ]);
    expect(platform.demoTenant.name).toBe(DEMO_TENANT_NAME);
  });

  it('names in platform.json a virtual phone the simulator has, connected', async () => {
    expect(platform.virtualPhone).toEqual({
      phoneNumber: DEMO_PHONE_NUMBER,
      jid: `${DEMO_PHONE_NUMBER}@s.whatsapp.net`,
    });
    expect(platform.whatsapp).toMatchObject({ mode: 'simulator', startedHere: true });
    const phone = await fetch(`${platform.simulatorUrl}/phones/${DEMO_PHONE_NUMBER}`);
    expect(phone.status).toBe(200);
    expect(await phone.json()).toMatchObject({ phoneNumber: DEMO_PHONE_NUMBER, connected: true });
  });

  it('keeps the files with keys readable by their owner only', () => {
    for (const file of ['admin-key', 'demo-tenant.json', 'platform.json']) {
      expect({ file, mode: statSync(join(stateDir, file)).mode & 0o777 }).toEqual({ file, mode: 0o600 });
    }
  });

  it('runs two healthy runners that split the shards between them', async () => {
    expect(platform.runners.map((runner) => runner.runnerId)).toEqual(['local-runner-1', 'local-runner-2']);
    const split = await poll(
      async () => {
        const reports = await Promise.all(
          platform.runners.map(async (runner) => {
            const response = await fetch(runner.healthUrl);
            return { status: response.status, ...healthSchema.parse(await response.json()) };
          }),
        );
        return reports.every((report) => report.shards.length > 0) &&
          reports.reduce((sum, report) => sum + report.shards.length, 0) === SHARDS
          ? reports
          : undefined;
      },
      'both runners to hold shards',
      120_000,
    );
    expect(split.map(({ status, healthy, runnerId }) => ({ status, healthy, runnerId }))).toEqual([
      { status: 200, healthy: true, runnerId: 'local-runner-1' },
      { status: 200, healthy: true, runnerId: 'local-runner-2' },
    ]);
    const all = split.flatMap((report) => report.shards).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: SHARDS }, (_, shard) => shard));
  });

  it('finds the demo tenant and the phone again while they exist, and makes a new tenant when its key is unknown', async () => {
    const adminKey = readFileSync(join(stateDir, 'admin-key'), 'utf8').trim();
    const file = join(stateDir, 'demo-tenant.json');
    const again = await ensureDemoTenant({ apiUrl: platform.apiUrl, adminKey, file });
    expect(again).toEqual({ tenant: platform.demoTenant, reused: true });

    // What a restart finds when local AWS kept nothing: a key the API does not know.
    const forgotten = { ...platform.demoTenant, apiKey: `${platform.demoTenant.apiKey.slice(0, -4)}AAAA` };
    writeFileSync(file, JSON.stringify(forgotten));
    const remade = await ensureDemoTenant({ apiUrl: platform.apiUrl, adminKey, file });
    expect(remade.reused).toBe(false);
    expect(remade.tenant.id).not.toBe(platform.demoTenant.id);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(remade.tenant);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const works = await fetch(`${platform.apiUrl}/v1/channels`, {
      headers: { authorization: `Bearer ${remade.tenant.apiKey}` },
    });
    expect(works.status).toBe(200);

    const phone = await ensureVirtualPhone({ adminUrl: platform.simulatorUrl as string });
    expect(phone).toEqual({
      phone: {
        phoneNumber: DEMO_PHONE_NUMBER,
        jid: `${DEMO_PHONE_NUMBER}@s.whatsapp.net`,
        linkedDevices: [],
      },
      reused: true,
    });
  });

  it('serves the dashboard, with the API behind it on the same origin', async () => {
    const page = await fetch(`${platform.dashboardUrl}/channels`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const channels = await fetch(`${platform.dashboardUrl}/v1/channels`, {
      headers: { authorization: `Bearer ${platform.demoTenant.apiKey}` },
    });
    expect(channels.status).toBe(200);
  });

  it('stops every part on Ctrl-C', async () => {
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(
      /SIGINT: stopping dashboard, queue consumers, API, 2 runners, WhatsApp simulator, local AWS…\nStopped\.\n$/,
    );
    await expect(fetch(platform.apiUrl)).rejects.toThrow();
  }, 90_000);
});

describe('npm start on a taken moto port', () => {
  it('says so in its failure line, with the variable that picks another, and exits 1', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'clinic-wa-start-taken-'));
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/local/start.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          CLINIC_WA_EXTERNAL_AWS: undefined,
          LOCAL_STATE_DIR: stateDir,
          LOCAL_AWS_PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(output).toContain(
        `✗ local AWS failed: port ${port} is in use (another npm start? LocalStack?): LOCAL_AWS_PORT=<port> picks another (details: `,
      );
    } finally {
      blocker.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});
