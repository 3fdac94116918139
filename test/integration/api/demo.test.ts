// `npm run demo`'s walk (infra/local/demo/flow.ts) against the platform's parts as `npm start` runs
// them: an emulator of this file's own with the stack provisioned, the WhatsApp simulator, a runner
// process publishing to the stack's bus, the API behind its local front, and the queue consumers (the
// event recorder and the webhook dispatcher) on the stack's queues. The demo calls only the public
// API and the simulator's admin API; the test reads the simulator's phones to check what it claims.
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLINIC_NUMBER, DEMO_PATIENT_NUMBER, runDemo } from '#infra/local/demo/flow.ts';
import type { DemoTargets } from '#infra/local/demo/targets.ts';
import { type LocalAws, startLocalAws } from '#infra/local/local-aws.ts';
import { type Simulator, startSimulator } from '#test/simulator';
import { type RunnerPlatform, runnerPlatform, until } from '../runner/support/runner-harness.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

let aws: LocalAws;
let simulator: Simulator;
let runners: RunnerPlatform;
let api: ApiWorld;

beforeAll(async () => {
  // The consumers read the stack's own event and delivery queues: on the suite's shared emulator
  // they would take other files' events (provisioning.test.ts reads the recorder queue itself).
  aws = await startLocalAws();
  const emulator = { endpoint: aws.endpoint, region: aws.region, env: aws.env };
  simulator = await startSimulator();
  runners = await runnerPlatform(simulator, emulator);
  await runners.spawnRunner('demo-runner', {
    leaseTtlSeconds: 30,
    eventBusName: aws.env.EVENT_BUS_NAME as string,
  });
  api = await startApiWorld(
    {
      COMMAND_QUEUE_URLS: runners.queueUrls.join(','),
      SHARD_COUNT: String(runners.queueUrls.length),
      // As `npm start` sets them: the demo's receiver is on loopback.
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      WEBHOOK_RETRY_SCALE: '0.01',
    },
    { emulator, recorder: true },
  );
});
afterAll(async () => {
  await api?.stop();
  await runners?.stopAll();
  await simulator?.stop();
  await aws?.stop();
});

const targets = (): DemoTargets => ({
  apiUrl: api.front.url,
  simulatorUrl: simulator.adminUrl,
  adminKey: api.adminKey,
  demoTenantId: null,
  clinicPhoneNumber: null,
  source: 'the test',
});

describe('npm run demo', () => {
  it('walks tenant, webhook, pairing, a message to read and the reply, each step verified', async () => {
    const lines: string[] = [];
    const outcome = await runDemo(targets(), { print: (line) => lines.push(line) });

    expect(outcome.failure).toBeNull();
    expect(outcome.steps.map((step) => [step.title, step.ok])).toEqual([
      ['a tenant and an API key', true],
      ['a webhook to a local receiver that verifies signatures', true],
      ['a channel paired with a virtual phone by QR', true],
      ['a message to the patient, followed to read', true],
      ["the patient's reply at the webhook", true],
      ['clean-up', true],
    ]);
    expect(outcome.ok).toBe(true);

    // What the webhook brought, every request verified by its signature and none refused.
    expect(outcome.refusedRequests).toBe(0);
    expect(outcome.events.every(({ event }) => event.tenantId === outcome.tenantId)).toBe(true);
    const ofType = (type: string) =>
      outcome.events.map(({ event }) => event).filter((event) => event.type === type);
    expect(ofType('webhook.test')).toHaveLength(1);
    expect(ofType('channel.status').map((event) => (event.data as { status: string }).status)).toEqual([
      'connecting',
      'qr',
      'open',
    ]);
    expect(outcome.statusEvents).toEqual(['sent', 'delivered', 'read']);
    expect(outcome.statusHistory).toEqual(['queued', 'sent', 'delivered', 'read']);
    expect(outcome.reply).toEqual({
      eventId: expect.stringMatching(/^evt_/),
      from: `+${DEMO_PATIENT_NUMBER}`,
      body: expect.stringMatching(/^Confirmo, obrigado! \(demo .+\)$/),
    });
    const [received] = ofType('message.received');
    expect(received).toMatchObject({ id: outcome.reply?.eventId, channelId: outcome.channelId });

    // The phones agree: the patient decrypted the clinic's text, the clinic's phone sent the reply.
    const patient = simulator.phones.get(DEMO_PATIENT_NUMBER);
    const clinicPhone = simulator.phones.get(DEMO_CLINIC_NUMBER);
    expect(
      patient?.received.filter(
        (message) => message.from === DEMO_CLINIC_NUMBER && message.text?.startsWith('Olá! Sua consulta'),
      ),
    ).toHaveLength(1);
    expect([...(patient?.sent.values() ?? [])].map((sent) => sent.to)).toEqual([DEMO_CLINIC_NUMBER]);
    // The clean-up deleted the channel: the runner logs it out, unlinking it from the phone.
    await until(() => clinicPhone?.linkedDevices().length === 0, 'the channel to be unlinked');

    // Each call printed with its status, secrets abbreviated.
    expect(lines).toContain('1. A tenant and an API key');
    expect(lines.some((line) => /^ {3}api POST {3}\/v1\/tenants → 201 /.test(line))).toBe(true);
    expect(lines.some((line) => /^ {3}sim POST {3}\/phones\/\d+\/scan → 200 /.test(line))).toBe(true);
    expect(lines.some((line) => line.startsWith('   hook ← message.received'))).toBe(true);
    const output = lines.join('\n');
    expect(output).not.toContain(api.adminKey);
    expect(output).not.toMatch(/whsec_[A-Za-z0-9+/=]{12,}/);
    expect(output).not.toMatch(/cwa_[A-Za-z0-9_-]{12,}/);
  });

  it('stops before creating anything when the API does not answer, asking whether npm start runs', async () => {
    const lines: string[] = [];
    // A port that was free a moment ago: nothing listens on it.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const outcome = await runDemo(
      { ...targets(), apiUrl: `http://127.0.0.1:${closed}` },
      { print: (line) => lines.push(line) },
    );
    expect(outcome).toMatchObject({ ok: false, steps: [], tenantId: null });
    expect(outcome.failure).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+ .*is `npm start` running\?$/);
  });
});
