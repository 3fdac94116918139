import { ConflictError } from '../domain/errors.ts';
import {
  compareSequences,
  EVENT_GAP_WAIT_MS,
  type EventSequence,
  gapOutwaited,
  gapWaitedMs,
  turnOf,
} from '../domain/event-sequence.ts';
import { type PlatformEvent, platformEvent, publicEventOf } from '../domain/events.ts';
import {
  DELIVERY_CLAIM_MS,
  DELIVERY_TIMEOUT_MS,
  type Delivery,
  type DeliveryAttempt,
  DISABLE_AFTER_FAILING_MS,
  deliveryOrderKey,
  isPairingSecretEvent,
  isRedeliverable,
  judgeResponse,
  newDelivery,
  type ResponseVerdict,
  retryDelayMs,
  storedEventOf,
  type Webhook,
  webhookWants,
} from '../domain/webhook.ts';
import type {
  DeliveryJob,
  DeliveryQueue,
  DeliveryRepository,
  DeliveryTry,
  EventPublisher,
  EventSequenceCursors,
  MediaStore,
  WebhookRepository,
  WebhookResponse,
  WebhookSecretCipher,
  WebhookSender,
} from '../ports.ts';
import { withMediaLinks } from './event-media-links.ts';
import { openSigningSecrets } from './webhook-secrets.ts';

// The webhook dispatcher (docs/architecture.md, "Webhooks"): events in, signed POSTs out.
//
// - Fan-out: each event becomes one delivery per webhook of its tenant that wants it, stored under
//   an id made of the event's and the webhook's (so a duplicate event creates nothing), and one job
//   on the ordered queue (one group per webhook and channel). A runner's channel event carries its
//   place in the channel's order (`sequence`): one that comes before its turn is held (it comes
//   back) until the events before it are fanned out, or for `EVENT_GAP_WAIT_MS` at most.
// - A job is tried when due: the delivery and the webhook are read afresh, the request is sent, the
//   try recorded, and what follows decided here: done, a retry on the unordered queue (so a failing
//   delivery never holds its group), dead when the schedule is over or the receiver said 410.
// - A webhook failing for DISABLE_AFTER_FAILING_MS, or answering 410, is disabled and
//   `webhook.disabled` published. Jobs of a disabled (or deleted) webhook are dropped; their
//   deliveries stay pending, visible and redeliverable.
// - QR and pairing codes are sent from the fan-out itself, never queued, never stored whole and
//   never tried past their `expiresAt`.
// - The webhook's secrets are opened (KMS) for each try, before it is claimed: secrets that cannot
//   be opened send nothing (never an unsigned request) and fail the job's record, which comes back.

export interface DispatchMetrics {
  /** One try that ended in a 2xx. */
  succeeded(): void;
  /** One try that did not (no answer, or any other status). */
  failed(): void;
  /** A delivery given up: the schedule over, or 410. */
  dead(): void;
  /** A webhook disabled by the dispatcher (410, or failing for too long). */
  webhookDisabled(): void;
  /** A webhook's secrets could not be opened: nothing sent, the record failed (ours to look at). */
  secretsUnreadable(): void;
  /** An event fanned out past a gap in its channel's order: the events before it are lost, or late. */
  gapSkipped(): void;
}

export interface DispatchLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface DispatchDependencies {
  readonly webhooks: WebhookRepository;
  readonly deliveries: DeliveryRepository;
  /** First tries, in order per `orderKey` (the FIFO queue); no delays. */
  readonly firstTries: DeliveryQueue;
  /** Retries and waits, delayed and in no order (the standard delivery queue). */
  readonly queue: DeliveryQueue;
  readonly sender: WebhookSender;
  /** Opens the secrets that sign a try (the stack's: KMS, behind `withOpenedSecretsCache`). */
  readonly secrets: WebhookSecretCipher;
  readonly events: EventPublisher;
  /** The fan-out's place in each channel's order: the last event fanned out. */
  readonly cursors: EventSequenceCursors;
  /** How long an event waits for the events before it in its channel (`EVENT_GAP_WAIT_MS`). */
  readonly gapWaitMs?: number;
  /** Presigns a received file's download URL for each try (`withMediaLinks`); none without it. */
  readonly media?: Pick<MediaStore, 'presignDownload'>;
  readonly metrics?: DispatchMetrics;
  readonly log?: DispatchLog;
  readonly now?: () => Date;
  /** Draws the retry jitter. */
  readonly random?: () => number;
  /** Shrinks the retry schedule and the wait for unreadable secrets (local runs and tests: WEBHOOK_RETRY_SCALE); 1 in a deployed stage. */
  readonly retryScale?: number;
  /** How long the fan-out keeps a tenant's webhooks before reading them again. */
  readonly webhookCacheMs?: number;
  /** How soon a pairing secret whose try failed is tried again: its queue's visibility timeout. */
  readonly pairingRetryMs?: number;
  /**
   * A tenant's `retentionDays` (null: unknown): a delivery expires no later than its tenant keeps
   * the event (`deliveryExpiry`). Read at most every `webhookCacheMs`. Without it, 30 days.
   */
  readonly retention?: { retentionOf(tenantId: string): Promise<number | null> };
}

/** A tenant's webhooks are read again after this: a new or changed webhook gets events within it. */
export const WEBHOOK_CACHE_MS = 10_000;
/** How soon a pairing secret whose try failed comes back: its queue's visibility timeout. */
export const PAIRING_RETRY_MS = 20_000;
/** A job ahead of its delivery (its try not yet recorded) is given up after this long. */
const AHEAD_JOB_LIFETIME_MS = 15 * 60_000;
const AHEAD_JOB_WAIT_MS = 1_000;
/** Read-modify-write rounds on a webhook (its version) before leaving the change to a later try. */
const WEBHOOK_UPDATE_ROUNDS = 3;
/** The same for a channel's cursor, which other fan-outs only ever move forward. */
const CURSOR_ROUNDS = 3;

/** How long a job waits when its webhook's secrets cannot be opened (metric and alarm meanwhile). */
export const SECRETS_UNREADABLE_WAIT_MS = 60_000;

/** What became of a job. */
export type JobOutcome =
  | 'succeeded'
  | 'retrying'
  | 'dead'
  | 'waiting'
  /** Nothing to do: the delivery is gone, done, or was tried since the job was queued. */
  | 'dropped'
  /** The webhook is disabled or deleted: the delivery stays pending, redeliverable. */
  | 'webhook_disabled';

/**
 * A webhook's signing secrets could not be opened (KMS refused or failed): nothing was sent. A job
 * waits and comes back (`SECRETS_UNREADABLE_WAIT_MS`); a pairing secret's event record fails, to
 * come back while the secret is valid.
 */
export class WebhookSecretsUnreadableError extends Error {
  constructor(
    readonly tenantId: string,
    readonly webhookId: string,
    options: { cause: unknown },
  ) {
    super(`The signing secrets of webhook ${webhookId} could not be opened: nothing was sent`, options);
    this.name = 'WebhookSecretsUnreadableError';
  }
}

/** A pairing secret could not be delivered yet and is still valid: its message should come back. */
export class PairingSecretPendingError extends Error {
  constructor(readonly eventId: string) {
    super(`A pairing secret's delivery failed and will be tried again while it is valid (${eventId})`);
    this.name = 'PairingSecretPendingError';
  }
}

/**
 * An event that came before its turn in its channel's order: an event before it has not been fanned
 * out yet. Its message should come back soon (the caller shortens its visibility) and be tried again.
 */
export class EventHeldError extends Error {
  constructor(
    readonly eventId: string,
    readonly sequence: EventSequence,
    readonly cursor: EventSequence | null,
  ) {
    super(
      `Event ${eventId} (${sequence.epoch}/${sequence.seq}) waits for the events before it ` +
        `(fanned out up to ${cursor ? `${cursor.epoch}/${cursor.seq}` : 'none'})`,
    );
    this.name = 'EventHeldError';
  }
}

/** When the event's message was first handed out (ms, the queue's clock): its wait for a gap runs from then. */
export interface EventArrival {
  readonly firstReceivedAt: number;
  /** SQS's `ApproximateReceiveCount`: each hold costs one. */
  readonly receiveCount: number;
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;

const noMetrics: DispatchMetrics = {
  succeeded: () => {},
  failed: () => {},
  dead: () => {},
  webhookDisabled: () => {},
  secretsUnreadable: () => {},
  gapSkipped: () => {},
};
const noLog: DispatchLog = { info: () => {}, warn: () => {}, error: () => {} };

/** scheme://host[:port] of a URL; '' for one that does not parse (never the URL itself). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** The job of a delivery as it is now: its next try, in its webhook and channel's order. */
export function deliveryJobOf(delivery: Delivery): DeliveryJob {
  return {
    tenantId: delivery.tenantId,
    webhookId: delivery.webhookId,
    deliveryId: delivery.id,
    orderKey: deliveryOrderKey(delivery.webhookId, delivery.event.channelId),
    attemptCount: delivery.attemptCount,
    generation: delivery.generation,
    dueAt: delivery.nextAttemptAt ?? delivery.updatedAt,
  };
}

export function createWebhookDispatcher(deps: DispatchDependencies) {
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics ?? noMetrics;
  const log = deps.log ?? noLog;
  const cacheMs = deps.webhookCacheMs ?? WEBHOOK_CACHE_MS;
  const cache = new Map<string, { readonly at: number; readonly webhooks: Promise<Webhook[]> }>();
  const retentions = new Map<string, { readonly at: number; readonly days: Promise<number | null> }>();

  /** The tenant's retention, read at most every `cacheMs`; null when unknown. */
  async function retentionOf(tenantId: string): Promise<number | null> {
    if (!deps.retention) return null;
    const at = now().getTime();
    const cached = retentions.get(tenantId);
    if (cached && at - cached.at < cacheMs) return cached.days;
    const days = deps.retention.retentionOf(tenantId);
    retentions.set(tenantId, { at, days });
    days.catch(() => retentions.delete(tenantId));
    return days;
  }

  /** The tenant's webhooks, read at most every `cacheMs`; never another tenant's. */
  async function webhooksOf(tenantId: string): Promise<Webhook[]> {
    const at = now().getTime();
    const cached = cache.get(tenantId);
    if (cached && at - cached.at < cacheMs) return cached.webhooks;
    const webhooks = deps.webhooks.listAll(tenantId);
    cache.set(tenantId, { at, webhooks });
    webhooks.catch(() => cache.delete(tenantId));
    // The repository reads one partition; this keeps that promise even if it ever did not.
    return (await webhooks).filter((webhook) => webhook.tenantId === tenantId);
  }

  /**
   * Stores the delivery unless it exists. The delivery to queue: the new one, or one an earlier
   * fan-out of the same event made and nothing has tried since (that fan-out may have failed before
   * queuing it); null for one tried or finished since.
   */
  async function ensureDelivery(event: PlatformEvent, webhook: Webhook): Promise<Delivery | null> {
    const delivery = newDelivery(storedEventOf(event), webhook.id, now());
    const retentionDays = await retentionOf(event.tenantId);
    if (await deps.deliveries.create(delivery, { retentionDays })) return delivery;
    const existing = await deps.deliveries.get(event.tenantId, webhook.id, delivery.id);
    return existing?.status === 'pending' && existing.attemptCount === 0 ? existing : null;
  }

  /** The same for a pairing secret, whose message comes back after a failed try: any pending one. */
  async function ensurePairingDelivery(event: PlatformEvent, webhook: Webhook): Promise<Delivery | null> {
    const delivery = newDelivery(storedEventOf(event), webhook.id, now());
    const retentionDays = await retentionOf(event.tenantId);
    if (await deps.deliveries.create(delivery, { retentionDays })) return delivery;
    const existing = await deps.deliveries.get(event.tenantId, webhook.id, delivery.id);
    return existing?.status === 'pending' ? existing : null;
  }

  /** Reads, changes and writes the webhook at its version, again on a conflict; null when absent. */
  async function updateWebhook(
    webhook: Webhook,
    change: (current: Webhook) => Parameters<WebhookRepository['update']>[3] | null,
  ): Promise<{ before: Webhook; after: Webhook } | null> {
    let current: Webhook | null = webhook;
    for (let round = 0; round < WEBHOOK_UPDATE_ROUNDS && current; round++) {
      const changes = change(current);
      if (changes === null) return null;
      try {
        const after = await deps.webhooks.update(current.tenantId, current.id, current.version, changes);
        return { before: current, after };
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        current = await deps.webhooks.get(webhook.tenantId, webhook.id);
      }
    }
    return null;
  }

  /** The deliveries of the event and their first tries, queued in one call. */
  async function queueFirstTries(event: PlatformEvent): Promise<number> {
    const wanting = (await webhooksOf(event.tenantId)).filter((webhook) => webhookWants(webhook, event));
    const deliveries = await Promise.all(wanting.map((webhook) => ensureDelivery(event, webhook)));
    const jobs = deliveries.filter((delivery): delivery is Delivery => delivery !== null).map(deliveryJobOf);
    if (jobs.length > 0) await deps.firstTries.enqueue(jobs);
    return jobs.length;
  }

  /**
   * Moves the channel's cursor from what was read to `to`; a fan-out that moved it meanwhile (always
   * forward) to `to` or past it leaves nothing to do, one behind it is moved from again.
   */
  async function advanceCursor(
    tenantId: string,
    channelId: string,
    read: EventSequence | null,
    to: EventSequence,
  ): Promise<void> {
    let from = read;
    for (let round = 0; round < CURSOR_ROUNDS; round++) {
      if (await deps.cursors.advance(tenantId, channelId, from, to)) return;
      from = await deps.cursors.get(tenantId, channelId);
      if (from && compareSequences(from, to) >= 0) return;
    }
    // The channel's next event finds the cursor behind and waits for the gap (EVENT_GAP_WAIT_MS).
    log.warn('channel event cursor not advanced: other fan-outs kept moving it', {
      tenantId,
      channelId,
      to,
    });
  }

  async function disable(webhook: Webhook, reason: 'gone' | 'failing', at: Date): Promise<void> {
    const updated = await updateWebhook(webhook, (current) =>
      current.status === 'enabled'
        ? { status: 'disabled', disabledReason: reason, updatedAt: at.toISOString() }
        : null,
    );
    if (!updated) return;
    metrics.webhookDisabled();
    log.warn('webhook disabled', { tenantId: webhook.tenantId, webhookId: webhook.id, reason });
    const event = platformEvent(
      'webhook.disabled',
      { tenantId: webhook.tenantId, channelId: null },
      // The origin only: a URL's path and query may carry a token, and this event is kept in the
      // event log and sent to the tenant's other webhooks.
      {
        webhookId: webhook.id,
        origin: originOf(webhook.url),
        reason,
        failingSince: updated.before.failingSince,
      },
      at,
    );
    try {
      await deps.events.publish([event]);
    } catch (error) {
      // The webhook is disabled either way; a try again would find it so and publish nothing.
      log.error('webhook.disabled could not be published', {
        tenantId: webhook.tenantId,
        webhookId: webhook.id,
        error: (error as Error).message,
      });
    }
  }

  /** A failed try: the webhook's run of failures starts now, or, run long enough, disables it. */
  async function noteFailure(webhook: Webhook, at: Date): Promise<void> {
    if (webhook.failingSince === null) {
      await updateWebhook(webhook, (current) =>
        current.failingSince === null && current.status === 'enabled'
          ? { failingSince: at.toISOString(), updatedAt: at.toISOString() }
          : null,
      );
    } else if (at.getTime() - Date.parse(webhook.failingSince) >= DISABLE_AFTER_FAILING_MS) {
      await disable(webhook, 'failing', at);
    }
  }

  async function noteSuccess(webhook: Webhook, at: Date): Promise<void> {
    if (webhook.failingSince === null) return;
    await updateWebhook(webhook, (current) =>
      current.failingSince === null ? null : { failingSince: null, updatedAt: at.toISOString() },
    );
  }

  function verdictOf(response: WebhookResponse, at: Date): ResponseVerdict {
    if (response.statusCode === null) {
      return { outcome: 'retry', error: response.error ?? 'connection_error', retryAfterMs: null };
    }
    return judgeResponse(response.statusCode, response.retryAfter, at);
  }

  function attemptOf(response: WebhookResponse, verdict: ResponseVerdict, at: Date): DeliveryAttempt {
    return {
      at: at.toISOString(),
      statusCode: response.statusCode,
      latencyMs: response.latencyMs,
      error: verdict.outcome === 'succeeded' ? null : verdict.error,
      responseExcerpt: response.responseExcerpt,
    };
  }

  /** The secrets that sign a try now, opened; never none (the current one is always valid). */
  async function secretsOf(webhook: Webhook): Promise<string[]> {
    try {
      return await openSigningSecrets(deps.secrets, webhook, now());
    } catch (error) {
      metrics.secretsUnreadable();
      log.error('webhook secrets could not be opened: nothing sent', {
        tenantId: webhook.tenantId,
        webhookId: webhook.id,
        error: (error as Error).name,
        reason: (error as Error).message,
      });
      throw new WebhookSecretsUnreadableError(webhook.tenantId, webhook.id, { cause: error });
    }
  }

  function send(
    webhook: Webhook,
    delivery: Delivery,
    secrets: readonly string[],
    body: string,
    timeoutMs?: number,
  ) {
    return deps.sender.send({
      url: webhook.url,
      deliveryId: delivery.id,
      secrets,
      body,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  /** What a job's try came to, recorded, with the webhook's state kept up. */
  async function settle(
    webhook: Webhook,
    delivery: Delivery,
    response: WebhookResponse,
    /** Arranges the next try `delayMs` from now; null when there will be none. */
    retry: (delayMs: number) => Promise<{ nextAttemptAt: string } | null>,
  ): Promise<JobOutcome> {
    const at = now();
    const verdict = verdictOf(response, at);
    const attempt = attemptOf(response, verdict, at);
    const ids = { tenantId: delivery.tenantId, webhookId: webhook.id, deliveryId: delivery.id };
    const expected: DeliveryTry = {
      attemptCount: delivery.attemptCount,
      generation: delivery.generation,
    };
    /** Records the try; false when the delivery moved on meanwhile (tried or reopened since). */
    const record = async (next: { status: Delivery['status']; nextAttemptAt: string | null }) => {
      try {
        await deps.deliveries.recordAttempt(
          ids.tenantId,
          ids.webhookId,
          ids.deliveryId,
          attempt,
          next,
          expected,
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConflictError) || error.code !== 'delivery_moved_on') throw error;
        log.warn('webhook delivery moved on during a try: not recorded', { ...ids, ...expected });
        return false;
      }
    };
    if (verdict.outcome === 'succeeded') {
      metrics.succeeded();
      if (!(await record({ status: 'succeeded', nextAttemptAt: null }))) return 'dropped';
      await noteSuccess(webhook, at);
      return 'succeeded';
    }
    metrics.failed();
    log.info('webhook delivery failed', { ...ids, statusCode: response.statusCode, error: attempt.error });
    const dead = async () => {
      if (!(await record({ status: 'dead', nextAttemptAt: null }))) return 'dropped' as const;
      metrics.dead();
      return 'dead' as const;
    };
    if (verdict.outcome === 'gone') {
      const outcome = await dead();
      await disable(webhook, 'gone', at);
      return outcome;
    }
    const failedTries = delivery.roundAttemptCount + 1;
    const delayMs = retryDelayMs(failedTries, {
      scale: deps.retryScale ?? 1,
      ...(deps.random ? { random: deps.random } : {}),
      retryAfterMs: verdict.retryAfterMs,
    });
    const next = delayMs === null ? null : await retry(delayMs);
    let outcome: JobOutcome;
    if (next === null) outcome = await dead();
    else
      outcome = (await record({ status: 'pending', nextAttemptAt: next.nextAttemptAt }))
        ? 'retrying'
        : 'dropped';
    await noteFailure(webhook, at);
    return outcome;
  }

  const dispatcher = {
    /** Clears the webhooks the fan-out keeps (tests, and a process that knows they changed). */
    forgetWebhooks(): void {
      cache.clear();
      retentions.clear();
    },

    /**
     * Makes the event's deliveries and queues their first tries, in one call for the event, in its
     * channel's order: an event with a `sequence` is fanned out only in its turn (the cursor's next),
     * and the cursor moves to it once its first tries are queued, so its group on the FIFO queue gets
     * them after those of the events before it. One that comes before its turn throws
     * `EventHeldError`, until it has waited `gapWaitMs` since `arrival` (then the cursor skips to it:
     * what was missing is lost or late, counted and logged). One at or behind the cursor (a duplicate,
     * a late event of an earlier lease) is fanned out at once (deliveries are idempotent; a late one
     * arrives late). Events without one (the API's, the dispatcher's) go at once.
     */
    async fanOut(event: PlatformEvent, arrival?: EventArrival): Promise<number> {
      if (isPairingSecretEvent(event)) return dispatcher.deliverPairingSecret(event);
      const { sequence, channelId, tenantId } = event;
      if (!sequence || channelId === null) return queueFirstTries(event);
      // A tenant with no webhook has no order to keep, and its events cost no cursor read or write;
      // its first webhook's first event may find the cursor behind, and wait out the gap once.
      if ((await webhooksOf(tenantId)).length === 0) return 0;
      const cursor = await deps.cursors.get(tenantId, channelId);
      const turn = turnOf(cursor, sequence);
      if (turn === 'behind') return queueFirstTries(event);
      if (turn === 'gap') {
        const at = now().getTime();
        const held = arrival ?? { firstReceivedAt: at, receiveCount: 1 };
        const waitedMs = gapWaitedMs(at, held.firstReceivedAt, cursor);
        if (!gapOutwaited(at, held, cursor, deps.gapWaitMs ?? EVENT_GAP_WAIT_MS))
          throw new EventHeldError(event.id, sequence, cursor);
        metrics.gapSkipped();
        log.warn('channel event gap skipped: the events before this one are lost or late', {
          tenantId,
          channelId,
          eventId: event.id,
          sequence,
          cursor,
          waitedMs,
          receiveCount: held.receiveCount,
        });
      }
      const queued = await queueFirstTries(event);
      await advanceCursor(tenantId, channelId, cursor, sequence);
      return queued;
    },

    /**
     * A QR or pairing code, sent at once to each webhook that wants it (a try no longer than the
     * secret has left), never queued; the delivery keeps it without the secret. A failed try while
     * the secret is still valid throws `PairingSecretPendingError`, for the event's message to come
     * back (its queue keeps it 60 s at most): a webhook it reached already is not sent it again.
     */
    async deliverPairingSecret(event: PlatformEvent): Promise<number> {
      const expiresAt = Date.parse((event.data as { expiresAt?: string }).expiresAt ?? '');
      if (!(expiresAt > now().getTime())) return 0;
      const wanting = (await webhooksOf(event.tenantId)).filter((webhook) => webhookWants(webhook, event));
      const body = JSON.stringify(publicEventOf(event));
      const settled = await Promise.allSettled(
        wanting.map(async (listed) => {
          // The list may be up to `cacheMs` old: the secret goes only where the webhook points now,
          // signed with the secrets valid now (a PATCHed URL, a deletion, a rotation with no overlap).
          const webhook = await deps.webhooks.get(listed.tenantId, listed.id);
          if (!webhook || !webhookWants(webhook, event)) return 'dropped' as const;
          const secrets = await secretsOf(webhook);
          const delivery = await ensurePairingDelivery(event, webhook);
          if (!delivery) return 'dropped' as const;
          const left = expiresAt - now().getTime();
          if (left <= 0) return 'dropped' as const;
          const response = await send(webhook, delivery, secrets, body, Math.min(left, DELIVERY_TIMEOUT_MS));
          return settle(webhook, delivery, response, async () => {
            const nextAt = now().getTime() + (deps.pairingRetryMs ?? PAIRING_RETRY_MS);
            return nextAt < expiresAt ? { nextAttemptAt: new Date(nextAt).toISOString() } : null;
          });
        }),
      );
      // Each webhook is tried whatever befell the others; then a failure fails the event's record.
      const failure = settled.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
      const outcomes = settled.map((result) => (result as PromiseFulfilledResult<JobOutcome>).value);
      if (outcomes.includes('retrying')) throw new PairingSecretPendingError(event.id);
      return outcomes.filter((outcome) => outcome !== 'dropped').length;
    },

    /** One job: wait more, try, or drop it (see `JobOutcome`). */
    async deliver(job: DeliveryJob): Promise<JobOutcome> {
      const delivery = await deps.deliveries.get(job.tenantId, job.webhookId, job.deliveryId);
      if (delivery?.status !== 'pending') return 'dropped';
      // Pairing secrets are never queued, and their deliveries no longer hold them.
      if (!isRedeliverable(delivery)) return 'dropped';
      const at = now().getTime();
      const generation = delivery.generation;
      // Of an earlier round: the reopen that began this one queued its own job.
      if (job.generation !== generation) return 'dropped';
      if (job.attemptCount < delivery.attemptCount) return 'dropped';
      if (job.attemptCount > delivery.attemptCount) {
        // Queued by a try whose record has not landed yet; or never will (its worker died, and
        // that try's own job, redelivered, queues another).
        if (at - Date.parse(delivery.updatedAt) > AHEAD_JOB_LIFETIME_MS) return 'dropped';
        await deps.queue.enqueue([job], { delayMs: AHEAD_JOB_WAIT_MS });
        return 'waiting';
      }
      const dueAt = Date.parse(delivery.nextAttemptAt ?? job.dueAt);
      if (dueAt > at) {
        // SQS delays a message 15 minutes at most: a longer wait takes several hops.
        await deps.queue.enqueue([{ ...job, dueAt: new Date(dueAt).toISOString() }], {
          delayMs: dueAt - at,
        });
        return 'waiting';
      }
      const webhook = await deps.webhooks.get(job.tenantId, job.webhookId);
      if (webhook?.status !== 'enabled') return 'webhook_disabled';
      // Before the claim: secrets that cannot be opened leave the try unclaimed. The job waits on
      // the jobs queue, a new message each time, so an outage of KMS (or a lost grant) holds the
      // deliveries pending for as long as it lasts instead of sending them to a DLQ.
      let secrets: string[];
      try {
        secrets = await secretsOf(webhook);
      } catch (error) {
        if (!(error instanceof WebhookSecretsUnreadableError)) throw error;
        await deps.queue.enqueue([job], {
          delayMs: Math.round(SECRETS_UNREADABLE_WAIT_MS * (deps.retryScale ?? 1)),
        });
        return 'waiting';
      }
      // The try is this job's alone: a duplicate job (SQS, a double redelivery) finds it claimed.
      const claimAt = now();
      const claim = await deps.deliveries.claimTry(
        job.tenantId,
        job.webhookId,
        job.deliveryId,
        { attemptCount: job.attemptCount, generation },
        claimAt.toISOString(),
        new Date(claimAt.getTime() + DELIVERY_CLAIM_MS).toISOString(),
      );
      if (!claim.claimed) {
        const current = claim.delivery;
        if (
          current?.status !== 'pending' ||
          current.generation !== generation ||
          current.attemptCount !== job.attemptCount
        )
          return 'dropped';
        // Another job holds this try. Come back when its claim ends: recorded by then, this job is
        // stale and dropped; not (its worker died), this job makes the try.
        const claimedUntil = Date.parse(current.claimedUntil ?? '');
        const delayMs = Math.max(
          AHEAD_JOB_WAIT_MS,
          (claimedUntil || 0) - claimAt.getTime() + AHEAD_JOB_WAIT_MS,
        );
        await deps.queue.enqueue([job], { delayMs });
        return 'waiting';
      }
      const event = deps.media ? await withMediaLinks(delivery.event, deps.media, now()) : delivery.event;
      const response = await send(webhook, delivery, secrets, JSON.stringify(event));
      return settle(webhook, claim.delivery, response, async (delayMs) => {
        const nextAttemptAt = new Date(now().getTime() + delayMs).toISOString();
        // Queued before the try is recorded: a crash in between leaves a job ahead of its delivery
        // (dropped in time) rather than a delivery that no job will ever try.
        await deps.queue.enqueue(
          [{ ...job, attemptCount: delivery.attemptCount + 1, generation, dueAt: nextAttemptAt }],
          { delayMs },
        );
        return { nextAttemptAt };
      });
    },
  };
  return dispatcher;
}
