import { ConflictError, NotFoundError, UnprocessableError } from '../domain/errors.ts';
import { platformEvent } from '../domain/events.ts';
import { newId } from '../domain/ids.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  type Delivery,
  isRedeliverable,
  MAX_RECOVERED_PER_REQUEST,
  MAX_SIGNING_SECRETS,
  newDelivery,
  rotatedSecrets,
  validateWebhookSettings,
  type Webhook,
  type WebhookSettings,
} from '../domain/webhook.ts';
import { type Resolve, resolveWebhookTarget, type WebhookUrlPolicy } from '../net/webhook-url-policy.ts';
import type {
  ChannelRepository,
  DeliveryFilter,
  DeliveryJob,
  DeliveryQueue,
  DeliveryRepository,
  WebhookChanges,
  WebhookRepository,
  WebhookSecretCipher,
} from '../ports.ts';
import { deliveryJobOf } from './webhook-dispatch.ts';
import { issueSecret } from './webhook-secrets.ts';

// A clinic's webhooks: where its events go, and what became of their deliveries. The deliveries
// themselves are the dispatcher's; the API makes a test one, and reopens dead ones for another round
// (a redelivery, a recovery), each queued at once as a job for the dispatcher.

export interface WebhookDependencies {
  readonly webhooks: WebhookRepository;
  readonly deliveries: DeliveryRepository;
  readonly deliveryQueue: DeliveryQueue;
  readonly channels: ChannelRepository;
  readonly webhookUrlPolicy: WebhookUrlPolicy;
  /** Seals a new secret before it is kept, and opens one again for a replayed creation. */
  readonly webhookSecrets: WebhookSecretCipher;
  /** How URLs' host names are resolved (the system's resolver by default). */
  readonly resolve?: Resolve;
  readonly now?: () => Date;
}

export interface NewWebhook {
  readonly url: string;
  readonly events: readonly string[];
  readonly channelIds?: readonly string[] | null;
  readonly description?: string | null;
}

export interface WebhookPatch {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly channelIds?: readonly string[] | null;
  readonly description?: string | null;
  /** false disables it (`by_clinic`); true enables it again, clearing why it stopped. */
  readonly enabled?: boolean;
}

/** Pages of the deliveries list one recovery reads at most (each a few queries). */
const MAX_RECOVERY_PAGES = 5;
/**
 * A pending delivery due longer ago than this has no job that will try it (its webhook was disabled
 * meanwhile, a job was lost): a recovery reopens it like a dead one.
 */
export const STUCK_PENDING_MS = 3_600_000;
/** Writes a request makes at once (channel checks, reopens). */
const CONCURRENCY = 10;
/** Tries of a change that met a concurrent write of the dispatcher (the webhook's version moved). */
const MAX_UPDATE_ROUNDS = 3;

const clock = (deps: Pick<WebhookDependencies, 'now'>) => deps.now?.() ?? new Date();

/**
 * Creates an enabled webhook; `secret` is shown this once: the webhook keeps it sealed for itself
 * (`webhookSecrets`), and no answer shows it again.
 */
export async function createWebhook(
  deps: WebhookDependencies,
  tenantId: string,
  input: NewWebhook,
): Promise<{ webhook: Webhook; secret: string }> {
  const settings = validateWebhookSettings({
    url: input.url,
    events: input.events,
    channelIds: input.channelIds ?? null,
    description: input.description ?? null,
  });
  await requireReachable(deps, settings.url);
  if (settings.channelIds) await requireChannels(deps, tenantId, settings.channelIds);
  const now = clock(deps);
  const id = newId('webhook', now.getTime());
  const { secret, kept } = await issueSecret(deps.webhookSecrets, { tenantId, webhookId: id }, now);
  const webhook: Webhook = {
    id,
    tenantId,
    ...settings,
    status: 'enabled',
    disabledReason: null,
    secrets: [kept],
    failingSince: null,
    version: 1,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await deps.webhooks.create(webhook);
  return { webhook, secret };
}

/**
 * A secret a creation issued, opened again from its sealed copy: what answers a replay of the
 * creation, whose idempotency record keeps the secret sealed only.
 */
export function openIssuedSecret(
  deps: Pick<WebhookDependencies, 'webhookSecrets'>,
  tenantId: string,
  webhookId: string,
  sealed: string,
): Promise<string> {
  return deps.webhookSecrets.open({ tenantId, webhookId }, sealed);
}

/** A webhook of the tenant; another tenant's is reported absent, as an absent one is. */
export async function getWebhook(
  deps: Pick<WebhookDependencies, 'webhooks'>,
  tenantId: string,
  webhookId: string,
): Promise<Webhook> {
  const webhook = await deps.webhooks.get(tenantId, webhookId);
  if (!webhook) throw new NotFoundError('webhook', webhookId);
  return webhook;
}

export function listWebhooks(
  deps: Pick<WebhookDependencies, 'webhooks'>,
  tenantId: string,
  request: PageRequest,
): Promise<Page<Webhook>> {
  return deps.webhooks.list(tenantId, request);
}

/** Changes what the clinic may change; a URL or channels are checked as at creation. */
export async function updateWebhook(
  deps: WebhookDependencies,
  tenantId: string,
  webhookId: string,
  patch: WebhookPatch,
): Promise<Webhook> {
  const settings: Partial<WebhookSettings> = validateWebhookSettings({
    url: patch.url,
    events: patch.events,
    channelIds: patch.channelIds,
    description: patch.description,
  });
  await getWebhook(deps, tenantId, webhookId);
  if (settings.url !== undefined) await requireReachable(deps, settings.url);
  if (settings.channelIds) await requireChannels(deps, tenantId, settings.channelIds);
  return changeWebhook(deps, tenantId, webhookId, (current) => ({
    ...withoutUndefined(settings),
    ...enabling(current, patch.enabled),
  }));
}

export async function deleteWebhook(
  deps: Pick<WebhookDependencies, 'webhooks'>,
  tenantId: string,
  webhookId: string,
): Promise<void> {
  await deps.webhooks.delete(tenantId, webhookId);
}

/**
 * A new current secret, shown this once; the one it replaces keeps signing for `overlapSeconds`
 * (a day by default), so receivers can switch without missing a delivery. An overlap of 0 ends
 * every earlier secret at once (`rotatedSecrets`): what a leaked secret calls for.
 */
export async function rotateWebhookSecret(
  deps: WebhookDependencies,
  tenantId: string,
  webhookId: string,
  input: { overlapSeconds?: number },
): Promise<{ webhook: Webhook; secret: string; previousSecretExpiresAt: string }> {
  const overlapSeconds = input.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
  const now = clock(deps);
  // Sealed once: a change tried again on a moved version keeps the same new secret.
  const { secret, kept } = await issueSecret(deps.webhookSecrets, { tenantId, webhookId }, now);
  const webhook = await changeWebhook(deps, tenantId, webhookId, (current) => {
    const secrets = rotatedSecrets(current, kept, now, overlapSeconds);
    if (secrets.length > MAX_SIGNING_SECRETS) {
      const ending = secrets
        .flatMap((candidate) => (candidate.expiresAt ? [candidate.expiresAt] : []))
        .sort()[0];
      throw new ConflictError(
        'webhook_secret_rotation_limit',
        `Webhook ${webhookId} has ${MAX_SIGNING_SECRETS} secrets valid already: rotate again after ${ending}, when the oldest one's overlap ends, or with overlapSeconds 0, which ends every earlier secret at once`,
      );
    }
    return { secrets };
  });
  return {
    webhook,
    secret,
    previousSecretExpiresAt: new Date(now.getTime() + overlapSeconds * 1000).toISOString(),
  };
}

/** A `webhook.test` event for this webhook alone, queued as a delivery at once. */
export async function testWebhook(
  deps: WebhookDependencies,
  tenantId: string,
  webhookId: string,
): Promise<Delivery> {
  const webhook = await requireEnabled(deps, tenantId, webhookId);
  const now = clock(deps);
  const event = platformEvent(
    'webhook.test',
    { tenantId, channelId: null },
    { message: 'A test event, sent because the clinic asked for one', webhookId: webhook.id },
    now,
  );
  const delivery = newDelivery(event, webhook.id, now);
  await deps.deliveries.create(delivery);
  try {
    await deps.deliveryQueue.enqueue([deliveryJobOf(delivery)]);
  } catch (error) {
    // Nothing would ever try it: say so on the delivery (dead, so it can be redelivered).
    await deps.deliveries
      .recordAttempt(
        tenantId,
        webhook.id,
        delivery.id,
        { at: now.toISOString(), statusCode: null, latencyMs: 0, error: 'not_queued', responseExcerpt: null },
        { status: 'dead', nextAttemptAt: null },
      )
      .catch(() => undefined);
    throw error;
  }
  return delivery;
}

export async function listDeliveries(
  deps: Pick<WebhookDependencies, 'webhooks' | 'deliveries'>,
  tenantId: string,
  webhookId: string,
  request: PageRequest & DeliveryFilter,
): Promise<Page<Delivery>> {
  await getWebhook(deps, tenantId, webhookId);
  return deps.deliveries.list(tenantId, webhookId, request);
}

/** One delivery tried again from the start of the retry schedule, whatever its status. */
export async function redeliver(
  deps: WebhookDependencies,
  tenantId: string,
  webhookId: string,
  deliveryId: string,
): Promise<Delivery> {
  await requireEnabled(deps, tenantId, webhookId);
  const found = await deps.deliveries.get(tenantId, webhookId, deliveryId);
  if (!found) throw new NotFoundError('delivery', deliveryId);
  if (!isRedeliverable(found)) {
    throw new ConflictError(
      'delivery_not_redeliverable',
      `Delivery ${deliveryId} carried a ${found.event.type}, valid for minutes only and not kept: ask the channel for a new one`,
    );
  }
  const delivery = await deps.deliveries.reopen(tenantId, webhookId, deliveryId, clock(deps).toISOString());
  await deps.deliveryQueue.enqueue([deliveryJobOf(delivery)]);
  return delivery;
}

/**
 * Every dead delivery of events since `since` tried again, and every pending one stuck (due more
 * than STUCK_PENDING_MS ago: no job will try it, its webhook was disabled meanwhile, say) — up to
 * MAX_RECOVERED_PER_REQUEST per request. A reopened delivery is neither dead nor stuck, so the same
 * request again takes the next ones: `complete` says when none is left. Deliveries of pairing
 * secrets are left as they are (not kept).
 */
export async function recoverDeliveries(
  deps: WebhookDependencies,
  tenantId: string,
  webhookId: string,
  input: { since: string },
): Promise<{ count: number; complete: boolean }> {
  await requireEnabled(deps, tenantId, webhookId);
  const now = clock(deps);
  const at = now.toISOString();
  const stuckBefore = now.getTime() - STUCK_PENDING_MS;
  const passes = [
    { status: 'dead' as const, takes: (_: Delivery) => true },
    {
      status: 'pending' as const,
      takes: (delivery: Delivery) =>
        delivery.nextAttemptAt !== null && Date.parse(delivery.nextAttemptAt) < stuckBefore,
    },
  ];
  const jobs: DeliveryJob[] = [];
  let complete = true;
  let pages = 0;
  for (const pass of passes) {
    let cursor: string | null = null;
    do {
      if (pages >= MAX_RECOVERY_PAGES || jobs.length >= MAX_RECOVERED_PER_REQUEST) {
        // This pass not read to its end: the next request goes on with it.
        complete = false;
        break;
      }
      pages++;
      const page: Page<Delivery> = await deps.deliveries.list(tenantId, webhookId, {
        status: pass.status,
        since: input.since,
        limit: MAX_RECOVERED_PER_REQUEST - jobs.length,
        ...(cursor ? { cursor } : {}),
      });
      // A QR or a pairing code is not kept (and long expired): nothing to send again.
      const reopened = await inBatches(
        page.items.filter((d) => isRedeliverable(d) && pass.takes(d)),
        (delivery) =>
          deps.deliveries
            .reopen(tenantId, webhookId, delivery.id, at, { onlyFrom: pass.status })
            // Reopened (or gone) meanwhile: someone else's round, not this one's.
            .catch((error: unknown) =>
              error instanceof ConflictError || error instanceof NotFoundError ? null : Promise.reject(error),
            ),
      );
      jobs.push(...reopened.flatMap((delivery) => (delivery ? [deliveryJobOf(delivery)] : [])));
      cursor = page.nextCursor;
    } while (cursor);
  }
  await deps.deliveryQueue.enqueue(jobs);
  return { count: jobs.length, complete };
}

/** A disabled webhook takes no deliveries: enable it first (its receiver is back, say). */
async function requireEnabled(
  deps: Pick<WebhookDependencies, 'webhooks'>,
  tenantId: string,
  webhookId: string,
): Promise<Webhook> {
  const webhook = await getWebhook(deps, tenantId, webhookId);
  if (webhook.status !== 'enabled') {
    throw new ConflictError(
      'webhook_disabled',
      `Webhook ${webhookId} is disabled (${webhook.disabledReason ?? 'by_clinic'}): enable it first (PATCH {"enabled": true})`,
    );
  }
  return webhook;
}

/** The SSRF rule of shared/net/webhook-url-policy.ts, after resolving the name (422 otherwise). */
async function requireReachable(deps: WebhookDependencies, url: string): Promise<void> {
  const target = await resolveWebhookTarget(url, deps.webhookUrlPolicy, deps.resolve);
  if (!target.ok) throw new UnprocessableError(target.code, target.message);
}

/** Every channel of a filter must be one of the tenant's (and not being deleted): 422 otherwise. */
async function requireChannels(
  deps: Pick<WebhookDependencies, 'channels'>,
  tenantId: string,
  channelIds: readonly string[],
): Promise<void> {
  const found = await inBatches(channelIds, (channelId) => deps.channels.get(tenantId, channelId));
  const missing = channelIds.findIndex((_, index) => {
    const channel = found[index];
    return !channel || channel.deletedAt !== null;
  });
  if (missing >= 0) {
    throw new UnprocessableError(
      'invalid_reference',
      `channelIds.${missing}: channel ${channelIds[missing]} is not a channel of this tenant`,
    );
  }
}

/** What enabling or disabling changes: enabling again clears why it had stopped. */
function enabling(current: Webhook, enabled: boolean | undefined): WebhookChanges {
  if (enabled === true && current.status !== 'enabled')
    return { status: 'enabled', disabledReason: null, failingSince: null };
  if (enabled === false && current.status !== 'disabled')
    return { status: 'disabled', disabledReason: 'by_clinic' };
  return {};
}

/**
 * Applies a change on the version just read. The dispatcher writes webhooks too (`failingSince`,
 * disabling one that fails): a version that moved in between is read again, a few times.
 */
async function changeWebhook(
  deps: Pick<WebhookDependencies, 'webhooks' | 'now'>,
  tenantId: string,
  webhookId: string,
  change: (current: Webhook) => WebhookChanges,
): Promise<Webhook> {
  for (let round = 1; ; round++) {
    const current = await getWebhook(deps, tenantId, webhookId);
    try {
      return await deps.webhooks.update(tenantId, webhookId, current.version, {
        ...change(current),
        updatedAt: clock(deps).toISOString(),
      });
    } catch (error) {
      const moved = error instanceof ConflictError && error.code === 'webhook_version_conflict';
      if (!moved || round >= MAX_UPDATE_ROUNDS) throw error;
    }
  }
}

async function inBatches<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += CONCURRENCY) {
    results.push(...(await Promise.all(items.slice(start, start + CONCURRENCY).map(run))));
  }
  return results;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
