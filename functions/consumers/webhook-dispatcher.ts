// The webhook dispatcher's Lambda handlers (docs/architecture.md, "Webhooks"; the entry point that
// builds them from the environment is webhook-dispatcher-handler.ts). Two handlers over one
// dispatcher (shared/use-cases/webhook-dispatch.ts), each a Powertools batch over SQS that reports
// the records it could not handle (`batchItemFailures`), so only those come back:
//
// - `fanOutHandler`: the webhook event queues (every platform event, from EventBridge; QR and
//   pairing codes on their own 60 s queue). Events are handled in the order of their ids, one
//   channel's one after another and the channels side by side.
// - `deliveryHandler`: the ordered FIFO queue of first tries (one group per webhook and channel,
//   handled in turn) and the standard delivery queue (retries, waits, the API's redeliveries).
import { processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { parseDeliveryJobMessage } from '#shared/aws/sqs-delivery-queue.ts';
import type { Environment } from '#shared/config.ts';
import { loadWebhookDispatchConfig } from '#shared/config.ts';
import { EVENT_TYPES, type PlatformEvent } from '#shared/domain/events.ts';
import { isId } from '#shared/domain/ids.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import { logger, metrics } from '#shared/observability.ts';
import type { Platform } from '#shared/platform.ts';
import type { DeliveryJob } from '#shared/ports.ts';
import {
  createWebhookDispatcher,
  type DispatchDependencies,
  type DispatchMetrics,
  type WebhookDispatcher,
} from '#shared/use-cases/webhook-dispatch.ts';
import { GroupedBatchProcessor } from './grouped-batch-processor.ts';

export type SqsBatchHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/**
 * How each queue feeds the dispatcher: the stack's event sources (infra/constructs/
 * webhook-dispatcher.construct.ts) and the local ones (infra/local/consumers-platform.ts) read these.
 * The fan-out ends within the pairing queue's 20 s visibility; the worker fits five first tries of one
 * group in turn (15 s each) in its 120 s.
 */
export const WEBHOOK_DISPATCHER_SOURCES = {
  fanOut: {
    timeoutSeconds: 20,
    events: { batchSize: 10, batchingWindowSeconds: 1 },
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

/** A job record's delivery id, for sorting a group by event; '' for a record that is no job. */
function deliveryIdOfRecord(record: SQSRecord): string {
  try {
    return jobOf(record).deliveryId;
  } catch {
    return '';
  }
}

/** A record's event id, for sorting; records that do not parse sort first and fail alone. */
function sortKeyOf(record: SQSRecord): string {
  try {
    return eventOf(record).id;
  } catch {
    return '';
  }
}

/** The group of an event record: its tenant's channel (or the tenant's events of no channel). */
function channelGroupOf(record: SQSRecord): string {
  try {
    const event = eventOf(record);
    return `${event.tenantId}#${event.channelId ?? '-'}`;
  } catch {
    return `malformed#${record.messageId}`;
  }
}

export function createDispatcherHandlers(dispatcher: WebhookDispatcher): {
  fanOut: SqsBatchHandler;
  deliveries: SqsBatchHandler;
} {
  return {
    async fanOut(event, context) {
      // Event ids are ULIDs: in id order is in the order the events were made.
      const records = [...event.Records].sort((a, b) => sortKeyOf(a).localeCompare(sortKeyOf(b)));
      return processPartialResponse(
        { Records: records },
        async (record: SQSRecord) => {
          await dispatcher.fanOut(eventOf(record));
        },
        new GroupedBatchProcessor(channelGroupOf),
        { ...(context ? { context } : {}), throwOnFullBatchFailure: false },
      );
    },
    async deliveries(event, context) {
      return processPartialResponse(
        event,
        async (record: SQSRecord) => {
          await dispatcher.deliver(jobOf(record));
        },
        // FIFO records carry their group; a standard queue's records are each a group of their own.
        // A group's first tries go in the order of their events (a delivery id begins with its
        // event's ULID), whatever order concurrent fan-outs queued them in.
        new GroupedBatchProcessor(
          (record) => record.attributes.MessageGroupId ?? record.messageId,
          (a, b) => deliveryIdOfRecord(a).localeCompare(deliveryIdOfRecord(b)),
        ),
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
} as const;

export const powertoolsDispatchMetrics: DispatchMetrics = {
  succeeded: () => metrics.addMetric(DELIVERY_METRICS.succeeded, MetricUnit.Count, 1),
  failed: () => metrics.addMetric(DELIVERY_METRICS.failed, MetricUnit.Count, 1),
  dead: () => metrics.addMetric(DELIVERY_METRICS.dead, MetricUnit.Count, 1),
  webhookDisabled: () => metrics.addMetric(DELIVERY_METRICS.webhookDisabled, MetricUnit.Count, 1),
};

/**
 * The dispatcher as a Lambda container (or the local consumers process) builds it from its platform
 * and environment: the DynamoDB repositories, both delivery queues, the sender under the platform's
 * URL policy, the EventBridge publisher, the media store (download URLs of received files),
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
    events: platform.events,
    // Presigning only (no call to S3): the delivery function may GetObject the media bucket's objects.
    media: platform.media,
    retention: platform.tenantRetention,
    metrics: powertoolsDispatchMetrics,
    log: logger,
    retryScale: loadWebhookDispatchConfig(env).retryScale,
    ...overrides,
  });
}
