// The webhook dispatcher's Lambda handlers (docs/architecture.md, "Webhooks"; the entry point that
// builds them from the environment is webhook-dispatcher-handler.ts). Two handlers over one
// dispatcher (shared/use-cases/webhook-dispatch.ts), each a Powertools batch over SQS that reports
// the records it could not handle (`batchItemFailures`), so only those come back:
//
// - `fanOutHandler`: the webhook event queues (every platform event, from EventBridge; QR and
//   pairing codes on their own 60 s queue). A channel's events are handled one after another in
//   their channel's order (`sequence`), the channels side by side; an event that came before its
//   turn is held: its record fails and comes back within `holdSeconds` (its visibility set so),
//   with the channel's records behind it.
// - `deliveryHandler`: the ordered FIFO queue of first tries (one group per webhook and channel,
//   handled in turn, in the order the fan-out queued them) and the standard delivery queue
//   (retries, waits, the API's redeliveries).
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { parseDeliveryJobMessage } from '#shared/aws/sqs-delivery-queue.ts';
import type { Environment } from '#shared/config.ts';
import { loadWebhookDispatchConfig } from '#shared/config.ts';
import { compareSequences, eventSequenceSchema } from '#shared/domain/event-sequence.ts';
import { EVENT_TYPES, type PlatformEvent } from '#shared/domain/events.ts';
import { isId } from '#shared/domain/ids.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { logger, metrics } from '#shared/observability.ts';
import type { Platform } from '#shared/platform.ts';
import type { DeliveryJob, MessageVisibility } from '#shared/ports.ts';
import {
  createWebhookDispatcher,
  type DispatchDependencies,
  type DispatchMetrics,
  EventHeldError,
  type WebhookDispatcher,
} from '#shared/use-cases/webhook-dispatch.ts';
import { withOpenedSecretsCache } from '#shared/use-cases/webhook-secrets.ts';
import { GroupedBatchProcessor } from './grouped-batch-processor.ts';

export type SqsBatchHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/**
 * How each queue feeds the dispatcher: the stack's event sources (infra/constructs/
 * webhook-dispatcher.construct.ts) and the local ones (infra/local/consumers-platform.ts) read these.
 * The fan-out ends within the pairing queue's 20 s visibility; the worker fits five first tries of one
 * group in turn (15 s each) in its 120 s. An event held for its turn comes back after `holdSeconds`
 * (its visibility; the queue's own is 180 s).
 */
export const WEBHOOK_DISPATCHER_SOURCES = {
  fanOut: {
    timeoutSeconds: 20,
    events: { batchSize: 10, batchingWindowSeconds: 1, holdSeconds: 1 },
    pairing: { batchSize: 10 },
  },
  delivery: { timeoutSeconds: 120, ordered: { batchSize: 5 }, jobs: { batchSize: 10 } },
} as const;

/** An event record that is not a platform event: it will never be one, so it goes to the DLQ. */
export class MalformedRecordError extends Error {
  constructor(what: string, messageId: string) {
    super(`SQS message ${messageId} is not ${what}`);
    this.name = 'MalformedRecordError';
  }
}

const platformEventSchema = z.looseObject({
  id: z.string().refine((id) => isId('event', id)),
  type: z.enum(EVENT_TYPES),
  createdAt: z.string(),
  tenantId: z.string().refine((id) => isId('tenant', id)),
  channelId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  sequence: eventSequenceSchema.optional(),
});

/** EventBridge's envelope (SQS target): the platform event is its `detail`. */
export function eventOf(record: SQSRecord): PlatformEvent {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MalformedRecordError('JSON', record.messageId);
  }
  const parsed = platformEventSchema.safeParse((body as { detail?: unknown } | null)?.detail);
  if (!parsed.success) throw new MalformedRecordError('a platform event', record.messageId);
  return parsed.data as unknown as PlatformEvent;
}

export function jobOf(record: SQSRecord): DeliveryJob {
  try {
    const { notBefore: _, ...job } = parseDeliveryJobMessage(record.body);
    return job;
  } catch {
    throw new MalformedRecordError('a delivery job', record.messageId);
  }
}

/** The event of a record, or null for one that is not an event (it fails alone when handled). */
function eventOrNull(record: SQSRecord): PlatformEvent | null {
  try {
    return eventOf(record);
  } catch {
    return null;
  }
}

/** The group of an event record: its tenant's channel (or the tenant's events of no channel). */
function channelGroupOf(record: SQSRecord, event: PlatformEvent | null): string {
  return event ? `${event.tenantId}#${event.channelId ?? '-'}` : `malformed#${record.messageId}`;
}

/**
 * The order a batch's events are handled in, within each channel: first those with no place in the
 * channel's order (they go at once anyway) and records that are no event, by id; then the channel's
 * sequenced events in their order, so one batch holding several of them fans them all out in turn.
 */
function compareTurns(a: PlatformEvent | null, b: PlatformEvent | null): number {
  const x = a?.sequence;
  const y = b?.sequence;
  if (x && y) return compareSequences(x, y) || (a?.id ?? '').localeCompare(b?.id ?? '');
  if (x || y) return x ? 1 : -1;
  return (a?.id ?? '').localeCompare(b?.id ?? '');
}

/** When SQS first handed the record out (ms): a held event's wait runs from then, on SQS's clock. */
function firstReceivedAtOf(record: SQSRecord): number {
  const first = Number(record.attributes.ApproximateFirstReceiveTimestamp);
  if (Number.isFinite(first) && first > 0) return first;
  // Never absent on SQS; a record without either is not held at all rather than held for good.
  const sent = Number(record.attributes.SentTimestamp);
  return Number.isFinite(sent) ? sent : 0;
}

export interface DispatcherHandlerPorts {
  /** Shortens the visibility of held event records (the webhook event queues' messages). */
  readonly visibility: MessageVisibility;
}

export function createDispatcherHandlers(
  dispatcher: WebhookDispatcher,
  ports: DispatcherHandlerPorts,
): {
  fanOut: SqsBatchHandler;
  deliveries: SqsBatchHandler;
} {
  const { holdSeconds } = WEBHOOK_DISPATCHER_SOURCES.fanOut.events;
  return {
    async fanOut(event, context) {
      const events = new Map(event.Records.map((record) => [record, eventOrNull(record)]));
      const eventIn = (record: SQSRecord) => events.get(record) ?? null;
      const groupOf = (record: SQSRecord) => channelGroupOf(record, eventIn(record));
      const records = [...event.Records].sort((a, b) => compareTurns(eventIn(a), eventIn(b)));
      const heldGroups = new Set<string>();
      const response = await processPartialResponse(
        { Records: records },
        async (record: SQSRecord) => {
          try {
            await dispatcher.fanOut(eventOf(record), { firstReceivedAt: firstReceivedAtOf(record) });
          } catch (error) {
            if (error instanceof EventHeldError) heldGroups.add(groupOf(record));
            throw error;
          }
        },
        new GroupedBatchProcessor(groupOf),
        { ...(context ? { context } : {}), throwOnFullBatchFailure: false },
      );
      if (heldGroups.size > 0) {
        // The held records, and their channel's records after them (failed untried), come back in
        // `holdSeconds` rather than the queue's visibility: the event they wait for may be in already.
        const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
        const held = records.filter(
          (record) => failed.has(record.messageId) && heldGroups.has(groupOf(record)),
        );
        try {
          await ports.visibility.showAgainIn(
            held.map((record) => ({ queueArn: record.eventSourceARN, receiptHandle: record.receiptHandle })),
            holdSeconds,
          );
        } catch (error) {
          // They come back after the queue's visibility instead: later, never lost.
          logger.warn('held events keep the queue’s visibility', {
            records: held.length,
            error: (error as Error).message,
          });
        }
      }
      return response;
    },
    async deliveries(event, context) {
      return processPartialResponse(
        event,
        async (record: SQSRecord) => {
          await dispatcher.deliver(jobOf(record));
        },
        // FIFO records carry their group (in the order the fan-out queued them: its events' order);
        // a standard queue's records are each a group of their own.
        new GroupedBatchProcessor((record) => record.attributes.MessageGroupId ?? record.messageId),
        { ...(context ? { context } : {}), throwOnFullBatchFailure: false },
      );
    },
  };
}

/** The counts the dispatcher's alarms read (docs/infra.md): EMF through Powertools Metrics. */
export const DELIVERY_METRICS = {
  succeeded: 'DeliveriesSucceeded',
  failed: 'DeliveriesFailed',
  dead: 'DeliveriesDead',
  webhookDisabled: 'WebhooksDisabled',
  secretsUnreadable: 'WebhookSecretsUnreadable',
  gapSkipped: 'EventGapsSkipped',
} as const;

export const powertoolsDispatchMetrics: DispatchMetrics = {
  succeeded: () => metrics.addMetric(DELIVERY_METRICS.succeeded, MetricUnit.Count, 1),
  failed: () => metrics.addMetric(DELIVERY_METRICS.failed, MetricUnit.Count, 1),
  dead: () => metrics.addMetric(DELIVERY_METRICS.dead, MetricUnit.Count, 1),
  webhookDisabled: () => metrics.addMetric(DELIVERY_METRICS.webhookDisabled, MetricUnit.Count, 1),
  secretsUnreadable: () => metrics.addMetric(DELIVERY_METRICS.secretsUnreadable, MetricUnit.Count, 1),
  gapSkipped: () => metrics.addMetric(DELIVERY_METRICS.gapSkipped, MetricUnit.Count, 1),
};

/**
 * The dispatcher as a Lambda container (or the local consumers process) builds it from its platform
 * and environment: the DynamoDB repositories (with the channels' cursors), both delivery queues, the
 * sender under the platform's URL policy, the webhook secrets' KMS cipher behind a short cache of
 * what it opened, the EventBridge publisher, the media store (download URLs of received files),
 * Powertools' logger and metrics.
 */
export function dispatcherOf(
  platform: Platform,
  env: Environment = process.env,
  overrides: Partial<DispatchDependencies> = {},
): WebhookDispatcher {
  return createWebhookDispatcher({
    webhooks: platform.webhooks,
    deliveries: platform.deliveries,
    firstTries: platform.orderedDeliveryQueue,
    queue: platform.deliveryQueue,
    sender: createWebhookSender({ policy: platform.webhookUrlPolicy }),
    secrets: withOpenedSecretsCache(platform.webhookSecrets),
    events: platform.events,
    cursors: platform.eventSequenceCursors,
    // Presigning only (no call to S3): the delivery function may GetObject the media bucket's objects.
    media: platform.media,
    retention: platform.tenantRetention,
    metrics: powertoolsDispatchMetrics,
    log: logger,
    retryScale: loadWebhookDispatchConfig(env).retryScale,
    ...overrides,
  });
}
