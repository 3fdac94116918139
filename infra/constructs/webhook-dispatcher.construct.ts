// The webhook dispatcher's functions (functions/consumers/webhook-dispatcher-handler.ts) on their SQS
// queues, their grants and their alarms (docs/infra.md, "The consumers stack"):
//
// - `FanOut` takes every platform event from the webhook subscription's queues (all events but the
//   pairing secrets, and those on their own 60 s queue) and queues first tries on the ordered queue,
//   each channel's in its order: it reads and moves the channel's cursor (a platform table item) and
//   hands an event that came before its turn back to its queue for a second (ChangeMessageVisibility,
//   part of consuming the queue); a QR or pairing code it sends itself. Its timeout is the pairing
//   queue's visibility (20 s).
// - `Delivery` takes the ordered FIFO queue (one webhook and channel's first tries in turn) and the
//   standard jobs queue (retries, waits, the API's redeliveries), sends, and queues the next tries.
//
// Both may decrypt with the webhook-secrets key (to sign; neither may encrypt). Neither reads the
// sessions table or may use the session key; `Delivery` may get media objects (presigned download
// URLs), nothing else of the media bucket. Both report the records they could not handle
// (`reportBatchItemFailures`): only those come back, and each queue's DLQ (with its alarm) catches
// what keeps failing.
import { Duration, Validations } from 'aws-cdk-lib';
import {
  type Alarm,
  Metric as CloudWatchMetric,
  ComparisonOperator,
  MathExpression,
  type Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { WEBHOOK_DISPATCHER_SOURCES } from '#functions/consumers/webhook-dispatcher.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import type { StatefulStack } from '../stateful-stack.ts';
import { MEDIA_KEY_PREFIX, mediaObjectsFinding } from './media-bucket.construct.ts';
import { PlatformFunction } from './platform-function.construct.ts';
import type { ItemAction } from './secure-table.construct.ts';

const ENTRY = 'functions/consumers/webhook-dispatcher-handler.ts';

const SOURCES = WEBHOOK_DISPATCHER_SOURCES;
/** The pairing secrets' queue hands a message out again after 20 s: the fan-out ends before. */
export const FAN_OUT_TIMEOUT = Duration.seconds(SOURCES.fanOut.timeoutSeconds);
/** Five first tries of one group in turn at 15 s each, with room for the reads and writes around them. */
export const DELIVERY_FUNCTION_TIMEOUT = Duration.seconds(SOURCES.delivery.timeoutSeconds);
/** First tries per batch from the ordered queue: a group's are sent one after another. */
export const ORDERED_BATCH_SIZE = SOURCES.delivery.ordered.batchSize;
export const DISPATCHER_MEMORY_MB = 512;

/** The dispatcher's EMF counts (functions/consumers/webhook-dispatcher.ts, `DELIVERY_METRICS`). */
export const DELIVERY_METRIC_NAMES = {
  succeeded: 'DeliveriesSucceeded',
  failed: 'DeliveriesFailed',
  secretsUnreadable: 'WebhookSecretsUnreadable',
} as const;

/**
 * The failed share of tries that alarms: over 15 minutes in a row (three periods of 5), at least
 * `minimumTries` tries a period. Receivers fail for their own reasons (one clinic's server down is
 * its webhook's business, not an alarm); most of all tries failing at once points at us: egress,
 * DNS, a bug in signing or sending.
 */
export const FAILED_SHARE_ALARM = {
  period: Duration.minutes(5),
  evaluationPeriods: 3,
  thresholdPercent: 50,
  minimumTries: 20,
} as const;

/**
 * The failed share of tries in a period, in %, or 0 under `minimumTries`. A period in which one of
 * the two counts has no datapoint counts it as 0 (`FILL`): in a total outage `DeliveriesSucceeded` is
 * never emitted, and without the fill `s + f` would have no value and the alarm would see missing data
 * (not breaching) instead of 100%. The divisor is never 0, even in the branch `IF` does not take.
 */
export function failedShareExpression(minimumTries: number): string {
  const total = 'FILL(s, 0) + FILL(f, 0)';
  return `IF(${total} >= ${minimumTries}, 100 * FILL(f, 0) / IF(${total} > 0, ${total}, 1), 0)`;
}

/**
 * What the dispatcher's code sends to the platform table (webhooks: `listAll` a Query, `get`, `update`;
 * deliveries: `create` a conditional put, `get`, `recordAttempt` a get and an update; a channel's
 * cursor: `get`, `advance` a conditional update), all on the table, all in a tenant's partition; both
 * functions share the code paths (the fan-out sends a QR itself). No delete, batch, transaction-only check or index: test/unit/infra/webhook-dispatcher-stack.test.ts
 * runs that code against a recording client. Not narrower: the webhook and delivery reads take whole
 * items (no projection) and the updates return `ALL_NEW`, which attribute conditions would refuse.
 */
export const DISPATCHER_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const satisfies readonly ItemAction[];

/** How long a first try or an event may wait in its queue before the backlog alarms. */
export const MAX_BACKLOG_AGE = Duration.minutes(5);

/** One dispatcher function's share of the account's concurrency (docs/infra.md, "Consumer concurrency"). */
export interface DispatcherConcurrency {
  /** Each of its SQS event sources' `MaximumConcurrency` (2 to 1,000). */
  readonly maxConcurrency: number;
  /** Executions reserved for it alone, also its ceiling; none if `undefined`. */
  readonly reservedConcurrency: number | undefined;
}

export interface WebhookDispatcherProps {
  readonly stateful: StatefulStack;
  readonly fanOut: DispatcherConcurrency;
  readonly delivery: DispatcherConcurrency;
}

export class WebhookDispatcher extends Construct {
  readonly fanOut: PlatformFunction;
  readonly delivery: PlatformFunction;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: WebhookDispatcherProps) {
    super(scope, id);
    const { stateful } = props;
    const subscription = stateful.events.webhooks;
    const queues = stateful.webhookDeliveries;

    this.fanOut = new PlatformFunction(this, 'FanOut', {
      entry: ENTRY,
      handler: 'fanOutHandler',
      description: 'clinic-wa webhooks: platform events to deliveries (QR and pairing codes sent at once)',
      timeout: FAN_OUT_TIMEOUT,
      memorySize: DISPATCHER_MEMORY_MB,
      reservedConcurrentExecutions: props.fanOut.reservedConcurrency,
    });
    this.delivery = new PlatformFunction(this, 'Delivery', {
      entry: ENTRY,
      handler: 'deliveryHandler',
      description: 'clinic-wa webhooks: signed POSTs to the clinics’ webhooks, retries, dead letters',
      timeout: DELIVERY_FUNCTION_TIMEOUT,
      memorySize: DISPATCHER_MEMORY_MB,
      reservedConcurrentExecutions: props.delivery.reservedConcurrency,
    });

    // What each does, one grant each (docs/infra.md has the table).
    stateful.platformTable.bindItemAccess(this.fanOut.consumer, DISPATCHER_TABLE_ACTIONS);
    subscription.bindConsume(this.fanOut.consumer);
    queues.bindSendOrdered(this.fanOut.consumer);
    stateful.events.bindPublish(this.fanOut.consumer);
    stateful.platformTable.bindItemAccess(this.delivery.consumer, DISPATCHER_TABLE_ACTIONS);
    queues.bindConsume(this.delivery.consumer);
    stateful.events.bindPublish(this.delivery.consumer);
    // Both sign: the fan-out a QR or pairing code, the worker every other delivery.
    stateful.webhookSecretKey.bindOpen(this.fanOut.consumer);
    stateful.webhookSecretKey.bindOpen(this.delivery.consumer);
    // Each try of a received file's event carries a download URL the function presigns: the URL
    // works only if its signer may GetObject. The fan-out sends only pairing secrets: no media.
    stateful.media.bindGetObjects(this.delivery.consumer);
    Validations.of(this.delivery.role).acknowledge({
      id: mediaObjectsFinding(stateful.stackName, `${MEDIA_KEY_PREFIX}*`),
      reason:
        'Media objects are keyed by tenant and media id, created at run time: the delivery function may get ' +
        '(only get) any object under media/ of the media bucket, to presign the download URLs its tries carry.',
    });
    for (const fn of [this.fanOut, this.delivery]) {
      fn.completeEnvironment(stateful.runtimeEnvironment());
      // Clinics' URLs may carry tokens in their query: not into X-Ray segments.
      fn.function.addEnvironment('POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS', 'false');
    }

    // A receiver that never answers holds a delivery execution 15 s a try: without a ceiling, one
    // tenant's dead server could take the account's whole pool and throttle the API.
    const fanOutSource = {
      reportBatchItemFailures: true,
      maxConcurrency: props.fanOut.maxConcurrency,
    } as const;
    const deliverySource = {
      reportBatchItemFailures: true,
      maxConcurrency: props.delivery.maxConcurrency,
    } as const;
    // A second of batching puts a burst of one channel's events in fewer batches, each fanned out in
    // the channel's order at once rather than held record by record.
    this.fanOut.function.addEventSource(
      new SqsEventSource(subscription.queue.queue, {
        ...fanOutSource,
        batchSize: SOURCES.fanOut.events.batchSize,
        maxBatchingWindow: Duration.seconds(SOURCES.fanOut.events.batchingWindowSeconds),
      }),
    );
    this.fanOut.function.addEventSource(
      new SqsEventSource(subscription.pairingSecretsQueue, {
        ...fanOutSource,
        batchSize: SOURCES.fanOut.pairing.batchSize,
      }),
    );
    this.delivery.function.addEventSource(
      new SqsEventSource(queues.ordered.queue, { ...deliverySource, batchSize: ORDERED_BATCH_SIZE }),
    );
    this.delivery.function.addEventSource(
      new SqsEventSource(queues.queue.queue, {
        ...deliverySource,
        batchSize: SOURCES.delivery.jobs.batchSize,
      }),
    );

    const sum = { period: FAILED_SHARE_ALARM.period, statistic: Stats.SUM };
    // A first try should leave within seconds: a message waiting 5 minutes means a consumer that
    // fails, is throttled or disabled (the retries' queue is left out: its messages wait on purpose).
    for (const [name, queue, what] of [
      ['EventBacklog', subscription.queue.queue, 'the webhook event queue: the fan-out'],
      ['OrderedBacklog', queues.ordered.queue, 'the ordered first tries: the delivery worker'],
    ] as const) {
      this.alarm(
        name,
        queue.metricApproximateAgeOfOldestMessage({
          period: FAILED_SHARE_ALARM.period,
          statistic: Stats.MAXIMUM,
        }),
        MAX_BACKLOG_AGE.toSeconds(),
        1,
        `A message has waited 5 minutes on ${what} is failing, throttled or disabled, and webhooks fall behind.`,
      );
    }
    for (const [name, fn] of [
      ['FanOut', this.fanOut],
      ['Delivery', this.delivery],
    ] as const) {
      this.alarm(
        `${name}Errors`,
        fn.function.metricErrors(sum),
        1,
        1,
        `The webhook dispatcher's ${name} function failed an invocation (Lambda Errors): a crash, a timeout ` +
          'or a failed cold start. Its batch comes back whole; what keeps failing reaches the queue’s DLQ.',
      );
      this.alarm(
        `${name}Throttles`,
        fn.function.metricThrottles(sum),
        1,
        1,
        `Lambda throttled the webhook dispatcher's ${name} function: its reservation or the account’s ` +
          'concurrent executions are used up. Its messages wait on their queues; the backlog alarms follow.',
      );
    }
    // Powertools' default dimension only (service), as the dispatcher's EMF lines carry them.
    const tries = (metricName: string): Metric =>
      new CloudWatchMetric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        ...sum,
      });
    const { minimumTries, thresholdPercent, evaluationPeriods } = FAILED_SHARE_ALARM;
    this.alarm(
      'UnreadableSecrets',
      tries(DELIVERY_METRIC_NAMES.secretsUnreadable),
      1,
      1,
      'The webhook dispatcher could not open a webhook’s signing secrets (EMF WebhookSecretsUnreadable): KMS ' +
        'refused or failed (the key disabled or scheduled for deletion, a grant lost, throttling), or an item ' +
        'holds a ciphertext sealed for another webhook. Nothing was sent unsigned: the records come back, and ' +
        'reach their DLQ if it lasts.',
    );
    this.alarm(
      'FailedDeliveries',
      new MathExpression({
        expression: failedShareExpression(minimumTries),
        usingMetrics: {
          s: tries(DELIVERY_METRIC_NAMES.succeeded),
          f: tries(DELIVERY_METRIC_NAMES.failed),
        },
        period: FAILED_SHARE_ALARM.period,
        label: 'Failed share of webhook tries (%)',
      }),
      thresholdPercent,
      evaluationPeriods,
      `More than ${thresholdPercent}% of webhook tries failed for 15 minutes (EMF DeliveriesFailed against ` +
        'DeliveriesSucceeded, at least 20 tries in each 5 minutes): look for a cause on our side (egress, DNS, ' +
        'signing) before blaming the clinics.',
    );
  }

  private alarm(
    id: string,
    metric: Metric | MathExpression,
    threshold: number,
    periods: number,
    description: string,
  ) {
    this.alarms.push(
      metric.createAlarm(this, id, {
        alarmDescription: description,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
