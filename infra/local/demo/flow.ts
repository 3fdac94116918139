// `npm run demo`'s walk through the platform, as a clinic's integration makes it: a tenant and a key,
// a webhook to a receiver that verifies every signature, a channel paired with a virtual phone, a
// message to the patient followed to `read`, the patient's reply arriving at the webhook, and a
// clean-up. Only the public API is called, plus the simulator's admin API to play the phones. Every
// answer is parsed with the API's own response schemas, so a drift from the contract fails the step.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  acceptedSchema,
  apiKeySchema,
  channelSchema,
  healthSchema,
  issuedApiKeySchema,
  issuedWebhookSchema,
  messageSchema,
  qrSchema,
  queuedDeliverySchema,
  queuedMessageSchema,
  tenantSchema,
} from '#functions/http/schemas.ts';
import type { ApiKeyScope } from '#shared/domain/api-key.ts';
import type { EventType, MessageStatus, PlatformEvent } from '#shared/domain/events.ts';
import { abbreviate, DemoCallError, HttpCaller, type Print } from './http-calls.ts';
import { SimulatorPhones } from './simulator-phones.ts';
import type { DemoTargets } from './targets.ts';
import { startDemoReceiver, type VerifiedEvent } from './webhook-receiver.ts';

/** Numbers of the demo's virtual phones: the same each run, so the simulator does not fill up. */
export const DEMO_CLINIC_NUMBER = '5511955550100';
export const DEMO_PATIENT_NUMBER = '5511955550199';

/** What the demo's key may do: exactly what the walk needs. */
export const DEMO_SCOPES: readonly ApiKeyScope[] = [
  'channels:read',
  'channels:write',
  'messages:send',
  'messages:read',
  'webhooks:manage',
];

const WEBHOOK_EVENTS: readonly EventType[] = ['channel.status', 'message.status', 'message.received'];

export interface DemoOptions {
  readonly print: Print;
  readonly clinicNumber?: string;
  readonly patientNumber?: string;
  /** The longest any one thing is waited for (a webhook event, a QR, a message on the phone). */
  readonly waitMs?: number;
}

export interface StepResult {
  readonly title: string;
  /** null: not run, an earlier step failed. */
  readonly ok: boolean | null;
  readonly ms: number;
  readonly error?: string;
}

export interface DemoOutcome {
  readonly ok: boolean;
  /** What failed, in a sentence; null when everything succeeded. */
  readonly failure: string | null;
  readonly steps: readonly StepResult[];
  readonly totalMs: number;
  readonly tenantId: string | null;
  readonly channelId: string | null;
  readonly messageId: string | null;
  /** Every event the receiver verified, in arrival order. */
  readonly events: readonly VerifiedEvent[];
  readonly refusedRequests: number;
  /** The statuses of the message sent, as `message.status` events brought them. */
  readonly statusEvents: readonly MessageStatus[];
  /** The message's `statusHistory` as the API lists it at the end. */
  readonly statusHistory: readonly MessageStatus[];
  /** The patient's reply as the webhook brought it. */
  readonly reply: { readonly eventId: string; readonly from: string | null; readonly body: string } | null;
}

/** What the steps build on, filled in as they go. */
interface DemoState {
  tenantId?: string;
  apiKey?: { id: string; key: string };
  webhookId?: string;
  channelId?: string;
  messageId?: string;
  reply?: DemoOutcome['reply'];
  statusHistory: MessageStatus[];
}

interface Step {
  readonly title: string;
  run(): Promise<void>;
}

const messagePage = z.object({ items: z.array(messageSchema), nextCursor: z.string().nullable() });

export async function runDemo(targets: DemoTargets, options: DemoOptions): Promise<DemoOutcome> {
  const { print } = options;
  // npm start's virtual phone when it made one: the phone its summary hands over pairs the channel.
  const clinicNumber = options.clinicNumber ?? targets.clinicPhoneNumber ?? DEMO_CLINIC_NUMBER;
  const patientNumber = options.patientNumber ?? DEMO_PATIENT_NUMBER;
  const waitMs = options.waitMs ?? 20_000;
  const started = performance.now();
  const runTag = `${new Date().toISOString().slice(11, 19)} ${randomBytes(2).toString('hex')}`;
  const outboundText = `Olá! Sua consulta é amanhã às 9h. (demo ${runTag})`;
  const replyText = `Confirmo, obrigado! (demo ${runTag})`;

  const anonymous = new HttpCaller('api', targets.apiUrl, print);
  const admin = anonymous.as(targets.adminKey);
  let clinic = anonymous;
  const phones = new SimulatorPhones(new HttpCaller('sim', targets.simulatorUrl, print));
  const state: DemoState = { statusHistory: [] };

  print(`clinic-wa demo: API ${targets.apiUrl}, simulator ${targets.simulatorUrl} (${targets.source})`);
  print(`admin key ${abbreviate(targets.adminKey)}`);
  // Fail fast, before anything is created, when the platform is not there.
  try {
    await anonymous.call('GET', '/health', { expect: 200, schema: healthSchema });
    await new HttpCaller('sim', targets.simulatorUrl, print).call('GET', '/health', {
      expect: 200,
      schema: z.object({ status: z.literal('ok'), connectedDevices: z.number() }),
      show: (health) => `${health.connectedDevices} devices connected`,
    });
  } catch (error) {
    return failedBeforeStart(error, started);
  }

  const receiver = await startDemoReceiver();
  const printed = new Set<string>();
  /** Waits for an event, then prints every verified event of this run not printed yet, up to it. */
  const expectEvent = async <T extends EventType>(
    type: T,
    matches: (event: PlatformEvent<T>) => boolean,
    what: string,
  ): Promise<PlatformEvent<T>> => {
    const found = await receiver.waitFor(type, matches, what, waitMs);
    for (const received of receiver.verified) {
      if (!printed.has(received.event.id) && ours(received.event)) {
        printed.add(received.event.id);
        print(`   hook ← ${describeEvent(received.event)}  (${received.event.id}, signature verified)`);
      }
      if (received === found) break;
    }
    return found.event;
  };
  const ours = (event: PlatformEvent) =>
    event.channelId === (state.channelId ?? null) &&
    (!isType(event, 'webhook.test') || event.data.webhookId === state.webhookId);

  const steps: Step[] = [
    {
      title: 'a tenant and an API key',
      run: async () => {
        try {
          state.tenantId = await tenantForDemo(admin, targets.demoTenantId, print);
        } catch (error) {
          if (error instanceof DemoCallError && error.status === 401) {
            throw new Error(
              `the admin key was refused: is it the one of the \`npm start\` running at ${targets.apiUrl}? (${error.message})`,
            );
          }
          throw error;
        }
        const issued = await admin.call('POST', `/v1/tenants/${state.tenantId}/api-keys`, {
          body: { name: `npm run demo ${runTag}`, scopes: DEMO_SCOPES },
          expect: 201,
          schema: issuedApiKeySchema,
          show: (key) => `id ${key.id}, key ${abbreviate(key.key)}, scopes ${key.scopes.join(' ')}`,
        });
        state.apiKey = { id: issued.id, key: issued.key };
        clinic = anonymous.as(issued.key);
      },
    },
    {
      title: 'a webhook to a local receiver that verifies signatures',
      run: async () => {
        print(`   receiver on ${receiver.url}: refuses (401) anything standardwebhooks does not verify`);
        const webhook = await clinic.call('POST', '/v1/webhooks', {
          body: { url: receiver.url, events: WEBHOOK_EVENTS, description: `npm run demo ${runTag}` },
          expect: 201,
          schema: issuedWebhookSchema,
          show: (hook) => `id ${hook.id}, secret ${abbreviate(hook.secret)}, events ${hook.events.join(' ')}`,
          idempotent: true,
        });
        state.webhookId = webhook.id;
        receiver.trust(webhook.secret);
        await clinic.call('POST', `/v1/webhooks/${webhook.id}/test`, {
          expect: 202,
          schema: queuedDeliverySchema,
          show: (delivery) => `delivery ${delivery.id}, ${delivery.status}`,
        });
        await expectEvent('webhook.test', () => true, 'the test event');
      },
    },
    {
      title: 'a channel paired with a virtual phone by QR',
      run: async () => {
        await phones.ensurePhone(clinicNumber);
        const channel = await clinic.call('POST', '/v1/channels', {
          body: { name: `Recepção (demo ${runTag})` },
          expect: 201,
          schema: channelSchema,
          show: (created) => `id ${created.id}, ${created.status}`,
          idempotent: true,
        });
        state.channelId = channel.id;
        await clinic.call('POST', `/v1/channels/${channel.id}/connect`, {
          body: { method: 'qr' },
          expect: 202,
          schema: channelSchema,
          show: (connecting) => `accepted, channel ${connecting.status}`,
        });
        const qr = await clinic.poll('GET', `/v1/channels/${channel.id}/qr?format=text`, {
          expect: 200,
          notYet: [409],
          schema: qrSchema,
          show: (shown) => `qr ${abbreviate(shown.qr)}, expires ${shown.expiresAt}`,
          timeoutMs: waitMs,
          what: 'the QR to scan',
        });
        await phones.scanQr(clinicNumber, qr.qr);
        await expectEvent(
          'channel.status',
          (event) => event.channelId === channel.id && event.data.status === 'open',
          'the channel to open',
        );
        await clinic.call('GET', `/v1/channels/${channel.id}`, {
          expect: 200,
          schema: channelSchema,
          show: (open) => `${open.status}, ${open.phoneNumber}, lid ${open.lid}`,
        });
      },
    },
    {
      title: 'a message to the patient, followed to read',
      run: async () => {
        const channelId = state.channelId as string;
        await phones.ensurePhone(patientNumber);
        const queued = await clinic.call('POST', `/v1/channels/${channelId}/messages`, {
          body: { to: `+${patientNumber}`, type: 'text', text: { body: outboundText } },
          expect: 202,
          schema: queuedMessageSchema,
          show: (message) => `id ${message.id}, ${message.status}: "${outboundText}"`,
          idempotent: true,
        });
        state.messageId = queued.id;
        const statusOf = (status: MessageStatus) => (event: PlatformEvent<'message.status'>) =>
          event.data.messageId === queued.id && event.data.status === status;
        await expectEvent('message.status', statusOf('delivered'), 'the message to be delivered');
        const onPhone = await phones.waitForText(patientNumber, outboundText, waitMs);
        await phones.markRead(patientNumber, onPhone.id);
        await expectEvent('message.status', statusOf('read'), 'the message to be read');
        const message = await clinic.call('GET', `/v1/channels/${channelId}/messages/${queued.id}`, {
          expect: 200,
          schema: messageSchema,
          show: (read) =>
            `${read.status}, history ${read.statusHistory.map((change) => change.status).join(' → ')}`,
        });
        state.statusHistory = message.statusHistory.map((change) => change.status);
      },
    },
    {
      title: "the patient's reply at the webhook",
      run: async () => {
        const channelId = state.channelId as string;
        await phones.sendText(patientNumber, clinicNumber, replyText);
        const received = await expectEvent(
          'message.received',
          (event) => event.channelId === channelId && textOf(event) === replyText,
          'the reply',
        );
        state.reply = { eventId: received.id, from: received.data.from.phoneNumber, body: replyText };
        await clinic.call('GET', `/v1/channels/${channelId}/messages?direction=inbound&limit=1`, {
          expect: 200,
          schema: messagePage,
          show: (page) => {
            const [latest] = page.items;
            return latest ? `${latest.id}, ${latest.status}, from ${latest.contact.phoneNumber}` : 'empty';
          },
        });
      },
    },
  ];

  const results: StepResult[] = [];
  let failure: string | null = null;
  for (const [index, step] of steps.entries()) {
    if (failure) {
      results.push({ title: step.title, ok: null, ms: 0 });
      continue;
    }
    print('');
    print(`${index + 1}. ${capitalize(step.title)}`);
    const stepStarted = performance.now();
    try {
      await step.run();
      const ms = performance.now() - stepStarted;
      results.push({ title: step.title, ok: true, ms });
      print(`   ✓ ${seconds(ms)}`);
    } catch (error) {
      const ms = performance.now() - stepStarted;
      const message = error instanceof Error ? error.message : String(error);
      failure = `${step.title}: ${message}`;
      results.push({ title: step.title, ok: false, ms, error: message });
      print(`   ✗ ${message}`);
    }
  }

  // Clean-up runs whatever happened: a webhook left behind would be retried for days against a
  // receiver that is gone, and a channel left open stays linked to the demo's phone.
  print('');
  print(`${steps.length + 1}. Clean-up`);
  const cleanupStarted = performance.now();
  const cleanupErrors = await cleanUp(state, clinic, admin);
  await receiver.close();
  const cleanupMs = performance.now() - cleanupStarted;
  if (cleanupErrors.length === 0) print(`   ✓ ${seconds(cleanupMs)}`);
  else for (const message of cleanupErrors) print(`   ✗ ${message}`);
  results.push({
    title: 'clean-up',
    ok: cleanupErrors.length === 0,
    ms: cleanupMs,
    ...(cleanupErrors.length ? { error: cleanupErrors.join('; ') } : {}),
  });
  failure ??= cleanupErrors.length ? `clean-up: ${cleanupErrors.join('; ')}` : null;
  if (!failure && receiver.rejected.length > 0) {
    failure = `the receiver refused ${receiver.rejected.length} requests: ${receiver.rejected[0]?.reason}`;
  }

  return {
    ok: failure === null,
    failure,
    steps: results,
    totalMs: performance.now() - started,
    tenantId: state.tenantId ?? null,
    channelId: state.channelId ?? null,
    messageId: state.messageId ?? null,
    events: [...receiver.verified],
    refusedRequests: receiver.rejected.length,
    statusEvents: receiver.verified
      .map((received) => received.event)
      .filter(
        (event): event is PlatformEvent<'message.status'> =>
          isType(event, 'message.status') && event.data.messageId === state.messageId,
      )
      .map((event) => event.data.status),
    statusHistory: state.statusHistory,
    reply: state.reply ?? null,
  };
}

/** The tenant npm start's platform.json names when it still exists, else a fresh one. */
async function tenantForDemo(admin: HttpCaller, demoTenantId: string | null, print: Print): Promise<string> {
  if (demoTenantId) {
    try {
      const tenant = await admin.call('GET', `/v1/tenants/${demoTenantId}`, {
        expect: 200,
        schema: tenantSchema,
        show: (found) => `"${found.name}", ${found.status}`,
      });
      if (tenant.status === 'active') return tenant.id;
    } catch (error) {
      if (!(error instanceof DemoCallError) || error.code !== 'unexpected_status') throw error;
    }
    print("   the demo tenant of npm start's platform.json is not usable: a fresh one instead");
  }
  const tenant = await admin.call('POST', '/v1/tenants', {
    body: { name: `Demo ${new Date().toISOString()}` },
    expect: 201,
    schema: tenantSchema,
    show: (created) => `id ${created.id}, "${created.name}"`,
    idempotent: true,
  });
  return tenant.id;
}

/** Deletes what the walk made (the tenant stays: it is named for the run); what failed, if anything. */
async function cleanUp(state: DemoState, clinic: HttpCaller, admin: HttpCaller): Promise<string[]> {
  const errors: string[] = [];
  const attempt = async (what: () => Promise<unknown>) => {
    try {
      await what();
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  };
  if (state.webhookId) {
    await attempt(() =>
      clinic.call('DELETE', `/v1/webhooks/${state.webhookId}`, {
        expect: 200,
        schema: acceptedSchema,
        show: (deleted) => `webhook ${deleted.id} ${deleted.status}`,
      }),
    );
  }
  if (state.channelId) {
    await attempt(() =>
      clinic.call('DELETE', `/v1/channels/${state.channelId}`, {
        expect: 202,
        schema: acceptedSchema,
        show: (accepted) => `${accepted.status}: logged out, then its keys erased`,
      }),
    );
  }
  if (state.tenantId && state.apiKey) {
    await attempt(() =>
      admin.call('DELETE', `/v1/tenants/${state.tenantId}/api-keys/${state.apiKey?.id}`, {
        expect: 200,
        schema: apiKeySchema,
        show: (key) => `key ${key.id} revoked`,
      }),
    );
  }
  return errors;
}

function failedBeforeStart(error: unknown, started: number): DemoOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return {
    ok: false,
    failure: message,
    steps: [],
    totalMs: performance.now() - started,
    tenantId: null,
    channelId: null,
    messageId: null,
    events: [],
    refusedRequests: 0,
    statusEvents: [],
    statusHistory: [],
    reply: null,
  };
}

function isType<T extends EventType>(event: PlatformEvent, type: T): event is PlatformEvent<T> {
  return event.type === type;
}

/** A received text's body: under `text`, as the Cloud API and the OpenAPI document put it. */
function textOf(event: PlatformEvent<'message.received'>): string | undefined {
  const body = (event.data.content.text as { body?: unknown } | undefined)?.body;
  return typeof body === 'string' ? body : undefined;
}

/** An event's interesting bits, one line. */
function describeEvent(event: PlatformEvent): string {
  if (isType(event, 'channel.status')) {
    return `channel.status ${event.data.previousStatus} → ${event.data.status}`;
  }
  if (isType(event, 'message.status')) return `message.status ${event.data.status} (${event.data.messageId})`;
  if (isType(event, 'message.received'))
    return `message.received ${event.data.messageId} from ${event.data.from.phoneNumber}: "${textOf(event)}"`;
  if (isType(event, 'webhook.test')) return `webhook.test "${event.data.message}"`;
  return event.type;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const capitalize = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
