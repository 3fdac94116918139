// `npm start` (infra/local/start.ts, the whole local platform in child processes) stopped and started
// again on the same state directory and ports: the paired channel logs back in from its stored
// session, with no new scan, and the tenant, its API key, messages and webhooks are all still there;
// the environment (queue URLs included) comes back the same, and the demo tenant and virtual phone
// are reused. Then `--fresh` starts from empty state.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '#infra/local/moto-server.ts';
import { readPlatformFile } from '#infra/local/platform-file.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const stateDirectory = mkdtempSync(join(tmpdir(), 'clinic-wa-restart-'));
const [awsPort, simPort, healthPort, apiPort, dashboardPort] = [
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
];
const api = `http://127.0.0.1:${apiPort}`;
const simulator = `http://127.0.0.1:${simPort}`;

interface RunningPlatform {
  readonly output: () => string;
  stop(): Promise<number | null>;
}

const started: ChildProcess[] = [];
afterAll(async () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  rmSync(stateDirectory, { recursive: true, force: true });
});

/** `npm start` on this file's ports and state directory, once it printed its summary. */
async function startPlatform(args: readonly string[] = []): Promise<RunningPlatform> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra/local/start.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOCAL_STATE_DIR: stateDirectory,
      LOCAL_AWS_PORT: String(awsPort),
      LOCAL_SIM_PORT: String(simPort),
      LOCAL_RUNNER_HEALTH_PORT: String(healthPort),
      LOCAL_API_PORT: String(apiPort),
      LOCAL_DASHBOARD_PORT: String(dashboardPort),
      CLINIC_WA_EXTERNAL_AWS: undefined,
      ADMIN_API_KEY: undefined,
      LOCAL_FRESH: undefined,
      LOG_LEVEL: 'ERROR',
    },
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
      return output.includes('clinic-wa is running') || undefined;
    },
    'npm start to be running',
    180_000,
  );
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function call(
  url: string,
  options: { method?: string; key?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> & { items?: Record<string, unknown>[] } }> {
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

const clinicNumber = '5511933339001';
const patientNumber = '5511944449001';

async function patientReceived(text: string) {
  return until(async () => {
    const { body } = await call(`${simulator}/phones/${patientNumber}/messages`);
    return (body.received as { text?: string }[]).find((message) => message.text === text);
  }, `the patient to receive "${text}"`);
}

describe('npm start, stopped and started again', () => {
  it('keeps the paired channel open without a new scan, its tenant, key, messages, webhooks, environment, demo tenant and phone; --fresh forgets them', async () => {
    const first = await startPlatform();
    expect(first.output()).toMatch(/✓ local AWS \(moto, \d+ resources, new state\)/);
    expect(first.output()).toMatch(/\n {2}state {12}new, kept in .+ for the next start/);
    const firstEnvironment = readFileSync(join(stateDirectory, 'local-aws.env'), 'utf8');
    const firstPlatform = readPlatformFile(join(stateDirectory, 'platform.json'));
    const adminKey = readFileSync(join(stateDirectory, 'admin-key'), 'utf8').trim();

    const tenant = await call(`${api}/v1/tenants`, { key: adminKey, body: { name: 'Clínica Reinício' } });
    expect(tenant.status).toBe(201);
    const apiKey = await call(`${api}/v1/tenants/${tenant.body.id}/api-keys`, {
      key: adminKey,
      body: { name: 'app', scopes: ['*'] },
    });
    const key = String(apiKey.body.key);
    const channel = await call(`${api}/v1/channels`, { key, body: { name: 'Recepção' } });
    const channelId = String(channel.body.id);
    expect(
      (await call(`${api}/v1/channels/${channelId}/connect`, { key, body: { method: 'qr' } })).status,
    ).toBe(202);
    await call(`${simulator}/phones`, { body: { phoneNumber: clinicNumber } });
    await call(`${simulator}/phones`, { body: { phoneNumber: patientNumber } });
    const qr = await until(async () => {
      const { body } = await call(`${api}/v1/channels/${channelId}/qr`, { key });
      return typeof body.qr === 'string' ? body.qr : undefined;
    }, 'a QR');
    const scan = await call(`${simulator}/phones/${clinicNumber}/scan`, { body: { qr } });
    expect(scan.status).toBe(200);
    await until(async () => {
      const { body } = await call(`${api}/v1/channels/${channelId}`, { key });
      return body.status === 'open' || undefined;
    }, 'the channel to be open');
    const before = await call(`${api}/v1/channels/${channelId}/messages`, {
      key,
      body: { to: `+${patientNumber}`, type: 'text', text: { body: 'Antes do reinício.' } },
    });
    expect(before.status).toBe(202);
    await patientReceived('Antes do reinício.');
    const webhook = await call(`${api}/v1/webhooks`, {
      key,
      body: { url: `http://127.0.0.1:${apiPort}/nowhere`, events: ['message.received'] },
    });
    expect(webhook.status).toBe(201);
    const linkedBefore = (await call(`${simulator}/phones/${clinicNumber}`)).body.linkedDevices;

    expect(await first.stop()).toBe(0);

    const second = await startPlatform();
    expect(second.output()).toMatch(/✓ local AWS \(moto, \d+ resources, restored\)/);
    expect(second.output()).toMatch(/✓ WhatsApp simulator \(port \d+, restored\)/);
    expect(second.output()).toMatch(/\n {2}state {12}restored from .+ \(saved \d{4}-\d\d-\d\d [\d:]+ UTC\)/);
    expect(readFileSync(join(stateDirectory, 'start-details.txt'), 'utf8')).toMatch(
      /state restored from .*aws-state\.pickle/,
    );
    // The same environment, queue URLs (which carry moto's port) included: a shell that sourced
    // local-aws.env before the restart still reaches every resource.
    const secondEnvironment = readFileSync(join(stateDirectory, 'local-aws.env'), 'utf8');
    expect(secondEnvironment).toContain(`_QUEUE_URL='http://127.0.0.1:${awsPort}/`);
    expect(secondEnvironment).toBe(firstEnvironment);
    // The demo tenant and the virtual phone of the first start, found again.
    expect(second.output()).toContain('✓ demo tenant (reused)');
    expect(second.output()).toMatch(/✓ virtual phone \(reused \+\d+\)/);
    expect(second.output()).toMatch(/\n {2}demo tenant {6}.+ {2}\(reused\)\n/);
    expect(second.output()).toMatch(
      /\n {2}virtual phone {4}\+\d+ {2}ready to scan a channel's QR {2}\(reused\)\n/,
    );
    const secondPlatform = readPlatformFile(join(stateDirectory, 'platform.json'));
    expect(secondPlatform.demoTenant).toEqual(firstPlatform.demoTenant);
    expect(secondPlatform.virtualPhone).toEqual(firstPlatform.virtualPhone);
    // The same key and channel, open again from the stored session: the clinic's phone linked no
    // new device, and messages flow both ways.
    await until(async () => {
      const { body } = await call(`${api}/v1/channels/${channelId}`, { key });
      return body.status === 'open' || undefined;
    }, 'the channel to be open again');
    const after = await call(`${api}/v1/channels/${channelId}/messages`, {
      key,
      body: { to: `+${patientNumber}`, type: 'text', text: { body: 'Depois do reinício.' } },
    });
    expect(after.status).toBe(202);
    await patientReceived('Depois do reinício.');
    await call(`${simulator}/phones/${patientNumber}/messages`, {
      body: { to: clinicNumber, text: 'Recebido!' },
    });
    const inbound = await until(async () => {
      const { body } = await call(`${api}/v1/channels/${channelId}/messages?direction=inbound`, { key });
      return body.items?.find((message) => (message.text as { body?: string })?.body === 'Recebido!');
    }, 'the patient’s reply in the API');
    expect(inbound).toMatchObject({ direction: 'inbound', contact: { phoneNumber: `+${patientNumber}` } });
    expect((await call(`${simulator}/phones/${clinicNumber}`)).body.linkedDevices).toEqual(linkedBefore);

    expect((await call(`${api}/v1/tenants/${tenant.body.id}`, { key: adminKey })).body).toMatchObject({
      name: 'Clínica Reinício',
    });
    const outbound = await call(`${api}/v1/channels/${channelId}/messages?direction=outbound`, { key });
    expect(outbound.body.items?.map((message) => message.id)).toEqual(
      expect.arrayContaining([before.body.id, after.body.id]),
    );
    const webhooks = await call(`${api}/v1/webhooks`, { key });
    expect(webhooks.body.items?.map((item) => item.id)).toEqual([webhook.body.id]);

    // The simulator's libsignal chatter (whole session records, private keys included) stays out of
    // the terminal: its lines are in the details file, its objects by kind only.
    const everything = `${first.output()}${second.output()}`;
    expect(everything).not.toMatch(/SessionEntry \{|privKey/);
    expect(readFileSync(join(stateDirectory, 'start-details.txt'), 'utf8')).toContain(
      'Closing session: [SessionEntry]',
    );
    expect(await second.stop()).toBe(0);

    // --fresh: nothing comes back but the admin key.
    const fresh = await startPlatform(['--fresh']);
    expect(fresh.output()).toMatch(/✓ local AWS \(moto, \d+ resources, fresh\)/);
    expect(fresh.output()).toContain('✓ demo tenant (created)');
    expect(fresh.output()).toMatch(/\n {2}state {12}empty \(--fresh\), kept in /);
    expect((await call(`${api}/v1/channels`, { key })).status).toBe(401);
    expect((await call(`${api}/v1/tenants/${tenant.body.id}`, { key: adminKey })).status).toBe(404);
    expect(readFileSync(join(stateDirectory, 'admin-key'), 'utf8').trim()).toBe(adminKey);
    expect(readPlatformFile(join(stateDirectory, 'platform.json')).demoTenant.id).not.toBe(
      firstPlatform.demoTenant.id,
    );
    expect(await fresh.stop()).toBe(0);
  }, 900_000);
});
