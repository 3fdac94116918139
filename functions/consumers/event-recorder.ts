// The event recorder: an SQS consumer (Lambda with a partial-batch-response event source; locally,
// infra/local/queue-consumers.ts) that appends every platform event the bus delivers to its
// tenant's event log (GET /v1/events). Its two queues are the recorder's event queue and its
// pairing-secrets queue (QR and pairing codes, kept until they expire: shared/domain/event-log.ts).
//
// Each record is one EventBridge envelope. A record that is not one (or not a platform event) fails
// on its own and comes back until the queue's redrive moves it to the dead-letter queue (the
// pairing-secrets queue has none: it expires there within the minute); nothing about it is logged
// but its ids and what failed to parse, never its content. A record that fails for any other reason
// (DynamoDB) fails on its own too and is tried again; the others of the batch are deleted.
import {
  EventType as BatchEventType,
  BatchProcessor,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { eventBridgeEnvelopeSchema } from '#shared/domain/event-log.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { logger, metrics } from '#shared/observability.ts';
import type { EventLog, EventLogOutcome } from '#shared/ports.ts';
import { tracer } from '#shared/tracing.ts';

/**
 * The recorder's event source, the same in the stack and on this machine: ten records an
 * invocation, and a timeout well inside the pairing-secrets queue's 20 s visibility (a record is
 * a tenant read, cached, and one transaction of 3 s at most, tried twice).
 */
export const EVENT_RECORDER_SOURCE = { batchSize: 10, timeoutSeconds: 10 } as const;

export interface EventRecorderDependencies {
  readonly eventLog: EventLog;
  /** The tenant's retention in days; null for a tenant absent or being erased (its events are dropped). */
  readonly tenantRetention: { retentionOf(tenantId: string): Promise<number | null> };
}

export interface EventRecorderOptions {
  /** How long a tenant's retention is reused before it is read again (default 5 minutes). */
  readonly tenantCacheMs?: number;
  /** The same for a tenant found absent or being erased (default 30 s). */
  readonly absentTenantCacheMs?: number;
  /** Monotonic clock for the cache (ms). */
  readonly clock?: () => number;
}

export type EventRecorderHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Fails a record that is not a platform event, saying only where it failed to parse. */
export class MalformedEventError extends Error {
  constructor(readonly issues: readonly { path: string; code: string }[]) {
    super(
      `not a platform event: ${issues.map((issue) => `${issue.path || '(root)'} ${issue.code}`).join(', ')}`,
    );
    this.name = 'MalformedEventError';
  }
}

const OUTCOME_METRICS: Record<EventLogOutcome, string> = {
  recorded: 'EventsRecorded',
  rewritten: 'EventsRewritten',
  duplicate: 'EventsDuplicate',
  expired: 'EventsExpired',
};
/** A record that failed and will be tried again (or reach the dead-letter queue): alarmed on. */
export const EVENTS_NOT_RECORDED_METRIC = 'EventsNotRecorded';

/**
 * The Lambda handler on given dependencies (the entry point, `event-recorder-handler.ts`, builds
 * them from its environment; the local runtime and the tests from theirs). Each invocation has a
 * processor of its own, so invocations running at once in one process (locally) do not mix.
 */
export function createEventRecorder(
  deps: EventRecorderDependencies,
  options: EventRecorderOptions = {},
): EventRecorderHandler {
  const retention = new TenantRetentionCache(deps.tenantRetention, options);
  const recordOne = async (record: SQSRecord): Promise<void> => {
    try {
      const event = parseRecord(record);
      const retentionDays = await retention.of(event.tenantId);
      if (retentionDays === null) {
        metrics.addMetric('EventsDropped', MetricUnit.Count, 1);
        logger.info('event of a tenant absent or being erased: not recorded', {
          messageId: record.messageId,
          eventId: event.id,
          tenantId: event.tenantId,
        });
        return;
      }
      const [outcome = 'recorded'] = await deps.eventLog.append([
        { event, retentionDays, writer: record.messageId },
      ]);
      metrics.addMetric(OUTCOME_METRICS[outcome], MetricUnit.Count, 1);
      if (outcome === 'rewritten') {
        logger.warn('event written again: a write was late or its outcome unknown', {
          messageId: record.messageId,
          eventId: event.id,
          tenantId: event.tenantId,
        });
      }
    } catch (error) {
      metrics.addMetric(EVENTS_NOT_RECORDED_METRIC, MetricUnit.Count, 1);
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
      if (error instanceof MalformedEventError) {
        logger.warn('record is not a platform event: it fails until the queue gives it up', {
          messageId: record.messageId,
          receiveCount,
          issues: error.issues,
        });
      } else {
        logger.error('event not recorded: it will be tried again', {
          messageId: record.messageId,
          receiveCount,
          error: { name: (error as Error)?.name, message: (error as Error)?.message },
        });
      }
      throw error;
    }
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event, context) =>
      processPartialResponse(event, recordOne, new BatchProcessor(BatchEventType.SQS), { context }),
    );
}

function parseRecord(record: SQSRecord): PlatformEvent {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new MalformedEventError([{ path: '', code: 'invalid_json' }]);
  }
  const parsed = eventBridgeEnvelopeSchema.safeParse(body);
  if (!parsed.success) {
    throw new MalformedEventError(
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code })),
    );
  }
  // Its envelope is checked; its data is kept as the publisher made it (the log stores what was published).
  return parsed.data.detail as PlatformEvent;
}

/**
 * Tenants' retention, read once per tenant for a while: a burst of one clinic's events costs one
 * read. A retention changed meanwhile applies within `tenantCacheMs`; an erased tenant's events
 * stop being kept within the same.
 */
export class TenantRetentionCache {
  private readonly entries = new Map<string, { days: number | null; until: number }>();
  private readonly foundMs: number;
  private readonly absentMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly source: EventRecorderDependencies['tenantRetention'],
    options: EventRecorderOptions = {},
    private readonly maxEntries = 10_000,
  ) {
    this.foundMs = options.tenantCacheMs ?? 5 * 60_000;
    this.absentMs = options.absentTenantCacheMs ?? 30_000;
    this.clock = options.clock ?? (() => performance.now());
  }

  async of(tenantId: string): Promise<number | null> {
    const now = this.clock();
    const cached = this.entries.get(tenantId);
    if (cached && cached.until > now) return cached.days;
    const days = await this.source.retentionOf(tenantId);
    this.entries.delete(tenantId);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(tenantId, { days, until: now + (days === null ? this.absentMs : this.foundMs) });
    return days;
  }
}
