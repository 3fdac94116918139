import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { deliveryJobMessage } from '#shared/aws/sqs-delivery-queue.ts';
import { ConflictError, NotFoundError } from '#shared/domain/errors.ts';
import type { ChannelCursor, EventSequence } from '#shared/domain/event-sequence.ts';
import {
  type EventDataByType,
  type EventType,
  type PlatformEvent,
  platformEvent,
} from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { type Delivery, deliveryExpiry, newSecretValue, type Webhook } from '#shared/domain/webhook.ts';
import type {
  DeliveryCreateOptions,
  DeliveryJob,
  DeliveryQueue,
  DeliveryRepository,
  DeliveryTry,
  EventPublisher,
  EventSequenceCursors,
  MessageVisibility,
  ReceivedMessageRef,
  WebhookChanges,
  WebhookRepository,
  WebhookSecretCipher,
  WebhookSecretOwner,
} from '#shared/ports.ts';

// In-memory stand-ins of the dispatcher's ports, with the semantics of the real adapters (versions,
// idempotent creates, conditional cursors, FIFO groups, delays, visibility), and SQS-shaped batches
// for the handlers. The tests that use the DynamoDB repositories and SQS on moto are in
// test/integration/webhook-dispatcher.test.ts.

/**
 * The webhook-secrets key in memory, behaving as KMS does for it: AES-256-GCM under a key of this
 * process with the owner (purpose, tenant, webhook) as additional data, so a sealed secret opens for
 * its own owner only. Synchronous too (`sealNow`, `openNow`), for fixtures made without awaiting.
 */
export class MemorySecretCipher implements WebhookSecretCipher {
  readonly #key = randomBytes(32);

  sealNow(owner: WebhookSecretOwner, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv).setAAD(this.#context(owner));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
  }

  openNow(owner: WebhookSecretOwner, sealed: string): string {
    const bytes = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, 12))
      .setAAD(this.#context(owner))
      .setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  async seal(owner: WebhookSecretOwner, secret: string): Promise<string> {
    return this.sealNow(owner, secret);
  }

  async open(owner: WebhookSecretOwner, sealed: string): Promise<string> {
    return this.openNow(owner, sealed);
  }

  #context(owner: WebhookSecretOwner): Buffer {
    return Buffer.from(JSON.stringify(['webhook-secret', owner.tenantId, owner.webhookId]));
  }
}

/** The cipher `newWebhook` seals with, and the dispatcher world opens with. */
export const memorySecrets = new MemorySecretCipher();

/** Every secret a webhook keeps, opened (newest first): what its receiver verifies with. */
export function secretsInClear(
  webhook: Pick<Webhook, 'tenantId' | 'id' | 'secrets'>,
  cipher: MemorySecretCipher = memorySecrets,
): string[] {
  const owner = { tenantId: webhook.tenantId, webhookId: webhook.id };
  return webhook.secrets.map((secret) => cipher.openNow(owner, secret.sealed));
}

/** An enabled webhook of every event, its one secret sealed by `memorySecrets` (unless overridden). */
export function newWebhook(tenantId: string, url: string, overrides: Partial<Webhook> = {}): Webhook {
  const now = new Date().toISOString();
  const id = overrides.id ?? newId('webhook');
  const owner = { tenantId: overrides.tenantId ?? tenantId, webhookId: id };
  return {
    id,
    tenantId,
    url,
    description: null,
    events: ['*'],
    channelIds: null,
    status: 'enabled',
    disabledReason: null,
    secrets: [{ sealed: memorySecrets.sealNow(owner, newSecretValue()), createdAt: now, expiresAt: null }],
    failingSince: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function eventOfType<T extends EventType>(
  type: T,
  tenantId: string,
  channelId: string | null,
  data: EventDataByType[T],
): PlatformEvent<T> {
  return platformEvent(type, { tenantId, channelId }, data);
}

export function statusEvent(tenantId: string, channelId: string | null, n = 0): PlatformEvent {
  return eventOfType('message.status', tenantId, channelId, {
    messageId: newId('message'),
    status: 'delivered',
    timestamp: new Date().toISOString(),
    recipient: { phoneNumber: `+5511900000${String(n).padStart(3, '0')}`, lid: null },
  });
}

export class MemoryWebhooks implements WebhookRepository {
  readonly items = new Map<string, Webhook>();
  listAllCalls = 0;

  async create(webhook: Webhook): Promise<void> {
    this.items.set(webhook.id, webhook);
  }
  async get(tenantId: string, webhookId: string): Promise<Webhook | null> {
    const webhook = this.items.get(webhookId);
    return webhook && webhook.tenantId === tenantId ? webhook : null;
  }
  async list(): Promise<never> {
    throw new Error('not used by the dispatcher');
  }
  async listAll(tenantId: string): Promise<Webhook[]> {
    this.listAllCalls++;
    return [...this.items.values()].filter((webhook) => webhook.tenantId === tenantId);
  }
  async update(
    tenantId: string,
    webhookId: string,
    expectedVersion: number,
    changes: WebhookChanges & { updatedAt?: string },
  ): Promise<Webhook> {
    const current = await this.get(tenantId, webhookId);
    if (!current) throw new NotFoundError('webhook', webhookId);
    if (current.version !== expectedVersion) throw new ConflictError('webhook_conflict', 'stale version');
    const next = { ...current, ...changes, version: current.version + 1 } as Webhook;
    this.items.set(webhookId, next);
    return next;
  }
  async delete(_tenantId: string, webhookId: string): Promise<void> {
    this.items.delete(webhookId);
  }
}

export class MemoryDeliveries implements DeliveryRepository {
  readonly items = new Map<string, Delivery>();
  /** Each delivery's TTL (epoch seconds), as the DynamoDB repository would store it. */
  readonly expiries = new Map<string, number>();

  async create(delivery: Delivery, options: DeliveryCreateOptions = {}): Promise<boolean> {
    if (this.items.has(delivery.id)) return false;
    this.expiries.set(delivery.id, deliveryExpiry(delivery, options.retentionDays));
    this.items.set(delivery.id, structuredClone(delivery));
    return true;
  }
  async get(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | null> {
    const delivery = this.items.get(deliveryId);
    return delivery && delivery.tenantId === tenantId && delivery.webhookId === webhookId
      ? structuredClone(delivery)
      : null;
  }
  async list(): Promise<never> {
    throw new Error('not used by the dispatcher');
  }
  async recordAttempt(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    attempt: Delivery['attempts'][number],
    next: { status: Delivery['status']; nextAttemptAt: string | null },
    expected?: DeliveryTry,
  ): Promise<Delivery> {
    const current = await this.get(tenantId, webhookId, deliveryId);
    if (!current) throw new NotFoundError('delivery', deliveryId);
    if (
      expected &&
      (current.attemptCount !== expected.attemptCount || current.generation !== expected.generation)
    )
      throw new ConflictError('delivery_moved_on', 'tried or reopened since');
    const updated: Delivery = {
      ...current,
      ...next,
      claimedUntil: null,
      attempts: [...current.attempts, attempt].slice(-20),
      attemptCount: current.attemptCount + 1,
      roundAttemptCount: current.roundAttemptCount + 1,
      updatedAt: attempt.at,
    };
    this.items.set(deliveryId, updated);
    return structuredClone(updated);
  }
  async claimTry(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    expected: DeliveryTry,
    at: string,
    until: string,
  ): Promise<{ claimed: true; delivery: Delivery } | { claimed: false; delivery: Delivery | null }> {
    // Read and written with no await between: one conditional write, like DynamoDB's.
    const found = this.items.get(deliveryId);
    const current =
      found && found.tenantId === tenantId && found.webhookId === webhookId ? structuredClone(found) : null;
    if (
      current?.status !== 'pending' ||
      current.attemptCount !== expected.attemptCount ||
      current.generation !== expected.generation ||
      (current.claimedUntil !== null && current.claimedUntil > at)
    )
      return { claimed: false, delivery: current };
    const updated: Delivery = { ...current, claimedUntil: until };
    this.items.set(deliveryId, updated);
    return { claimed: true, delivery: structuredClone(updated) };
  }
  async reopen(tenantId: string, webhookId: string, deliveryId: string, at: string): Promise<Delivery> {
    const current = await this.get(tenantId, webhookId, deliveryId);
    if (!current) throw new NotFoundError('delivery', deliveryId);
    const updated: Delivery = {
      ...current,
      generation: current.generation + 1,
      claimedUntil: null,
      status: 'pending',
      nextAttemptAt: at,
      updatedAt: at,
      roundAttemptCount: 0,
    };
    this.items.set(deliveryId, updated);
    return structuredClone(updated);
  }
  all(): Delivery[] {
    return [...this.items.values()].map((delivery) => structuredClone(delivery));
  }
}

export class MemoryCursors implements EventSequenceCursors {
  readonly items = new Map<string, ChannelCursor>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(tenantId: string, channelId: string): Promise<ChannelCursor | null> {
    return this.items.get(`${tenantId}#${channelId}`) ?? null;
  }
  async advance(
    tenantId: string,
    channelId: string,
    from: EventSequence | null,
    to: EventSequence,
  ): Promise<boolean> {
    // Read and written with no await between: one conditional write, like DynamoDB's.
    const key = `${tenantId}#${channelId}`;
    const current = this.items.get(key) ?? null;
    if (current?.epoch !== from?.epoch || current?.seq !== from?.seq) return false;
    this.items.set(key, { epoch: to.epoch, seq: to.seq, movedAtMs: this.now() });
    return true;
  }
}

export class MemoryEvents implements EventPublisher {
  readonly published: PlatformEvent[] = [];
  async publish(events: readonly PlatformEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

interface QueuedMessage {
  /** The message as sent; each receive hands out a copy with SQS's receive attributes. */
  readonly record: SQSRecord;
  visibleAt: number;
  receives: number;
  firstReceivedAt: number | null;
  /** While a consumer holds it: when it shows again, if the consumer said (ChangeMessageVisibility). */
  showAgainAt: number | null;
}

let messageCounter = 0;

/**
 * An SQS queue in memory, FIFO or standard. FIFO: one message group is handed out at a time (no
 * message of a group while an earlier one is in flight), in order; a failed record goes back to
 * the head of its group. Standard: a delayed message becomes visible after its delay. Each receive
 * counts (`ApproximateReceiveCount`, `ApproximateFirstReceiveTimestamp` from the first) and has a
 * receipt handle of its own; a consumer holding a message may set when it shows again
 * (`showAgainIn`), else a failed one shows after the queue's visibility timeout.
 */
export class MemoryQueue implements DeliveryQueue, MessageVisibility {
  private messages: QueuedMessage[] = [];
  private readonly inFlightGroups = new Set<string>();
  /** Messages handed out and not settled yet, by the receipt handle of their receive. */
  private readonly inFlight = new Map<string, QueuedMessage>();
  readonly sent: { job: DeliveryJob; delayMs: number }[] = [];
  readonly arn: string;

  constructor(
    readonly fifo: boolean,
    private readonly clock: () => number = Date.now,
    /** How long a failed message stays hidden unless its consumer said otherwise. */
    private readonly visibilityTimeoutMs = 0,
  ) {
    this.arn = `arn:aws:sqs:us-east-1:000000000000:memory-${++messageCounter}${fifo ? '.fifo' : ''}`;
  }

  async enqueue(jobs: readonly DeliveryJob[], options: { delayMs?: number } = {}): Promise<void> {
    const delayMs = options.delayMs ?? 0;
    if (this.fifo && delayMs > 0) throw new RangeError('a FIFO queue delays no single message');
    for (const job of jobs) {
      this.sent.push({ job, delayMs });
      const notBefore = new Date(this.clock() + delayMs).toISOString();
      this.put(deliveryJobMessage(job, notBefore), delayMs, this.fifo ? job.orderKey : undefined);
    }
  }

  put(body: string, delayMs = 0, group?: string): void {
    const record = {
      messageId: `msg-${++messageCounter}`,
      receiptHandle: '',
      body,
      attributes: {
        ApproximateReceiveCount: '0',
        SentTimestamp: String(this.clock()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '',
        ...(group ? { MessageGroupId: group, MessageDeduplicationId: `d-${messageCounter}` } : {}),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'us-east-1',
    } as SQSRecord;
    this.messages.push({
      record,
      visibleAt: this.clock() + delayMs,
      receives: 0,
      firstReceivedAt: null,
      showAgainAt: null,
    });
  }

  get depth(): number {
    return this.messages.length + this.inFlight.size;
  }

  /** When the next message becomes visible (null when none waits). */
  nextVisibleAt(): number | null {
    return this.messages.length === 0 ? null : Math.min(...this.messages.map((m) => m.visibleAt));
  }

  /** Up to `max` visible messages, taken out of the queue until `settle` says what became of them. */
  receive(max = 10): SQSEvent | null {
    const at = this.clock();
    const taken: QueuedMessage[] = [];
    const blocked = new Set(this.inFlightGroups);
    for (const message of this.messages) {
      if (taken.length >= max) break;
      const group = message.record.attributes.MessageGroupId;
      if (group && blocked.has(group)) continue;
      if (message.visibleAt > at) {
        if (group) blocked.add(group);
        continue;
      }
      taken.push(message);
    }
    if (taken.length === 0) return null;
    this.messages = this.messages.filter((message) => !taken.includes(message));
    const records = taken.map((message) => {
      message.receives++;
      message.firstReceivedAt ??= at;
      message.showAgainAt = null;
      const group = message.record.attributes.MessageGroupId;
      if (group) this.inFlightGroups.add(group);
      const receiptHandle = `rh-${message.record.messageId}-${message.receives}`;
      this.inFlight.set(receiptHandle, message);
      return {
        ...message.record,
        receiptHandle,
        attributes: {
          ...message.record.attributes,
          ApproximateReceiveCount: String(message.receives),
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
        },
      };
    });
    return { Records: records };
  }

  /** `ChangeMessageVisibility` of messages in flight: each shows again `seconds` after now once failed. */
  async showAgainIn(messages: readonly ReceivedMessageRef[], seconds: number): Promise<void> {
    for (const { queueArn, receiptHandle } of messages) {
      const message = this.inFlight.get(receiptHandle);
      if (queueArn !== this.arn || !message) throw new Error(`ReceiptHandleIsInvalid: ${receiptHandle}`);
      message.showAgainAt = this.clock() + seconds * 1000;
    }
  }

  /** How often the message was received so far (0: never, or deleted). */
  receivesOf(messageId: string): number {
    const all = [...this.messages, ...this.inFlight.values()];
    return all.find((message) => message.record.messageId === messageId)?.receives ?? 0;
  }

  /**
   * The handler's answer: failed records come back (at the head of their group) when their consumer
   * said, or after the visibility timeout; the rest are deleted.
   */
  settle(batch: SQSEvent, failedIds: readonly string[]): void {
    const back: QueuedMessage[] = [];
    for (const record of batch.Records) {
      const message = this.inFlight.get(record.receiptHandle);
      if (!message) continue;
      this.inFlight.delete(record.receiptHandle);
      const group = message.record.attributes.MessageGroupId;
      if (group) this.inFlightGroups.delete(group);
      if (!failedIds.includes(record.messageId)) continue;
      message.visibleAt = message.showAgainAt ?? this.clock() + this.visibilityTimeoutMs;
      back.push(message);
    }
    this.messages = [...back, ...this.messages];
  }
}

/** What EventBridge's SQS target puts on a webhook event queue for a platform event. */
export function eventMessage(event: PlatformEvent): string {
  return JSON.stringify({
    version: '0',
    id: `eb-${event.id}`,
    'detail-type': event.type,
    source: 'clinic-wa.runner',
    time: event.createdAt,
    region: 'us-east-1',
    resources: [],
    detail: event,
  });
}

/** An EventBridge → SQS record of a platform event, as the webhook event queues carry them. */
export function eventBatch(events: readonly PlatformEvent[]): SQSEvent {
  const queue = new MemoryQueue(false);
  for (const event of events) queue.put(eventMessage(event));
  return queue.receive(events.length) ?? { Records: [] };
}
