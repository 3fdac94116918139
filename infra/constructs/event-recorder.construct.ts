// The event recorder (functions/consumers/event-recorder.ts): a Lambda function fed by the
// recorder's two queues (every event, and the pairing secrets apart) with partial batch responses,
// allowed to add event-log items to the platform table and read a few attributes (its own id items',
// tenants' retention) and nothing else of it; alarms on its failures. docs/infra.md says why each.
import { Duration } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { EVENT_RECORDER_SOURCE, EVENTS_NOT_RECORDED_METRIC } from '#functions/consumers/event-recorder.ts';
import { EVENT_LOG_ITEM_ATTRIBUTES } from '#shared/aws/dynamo/event-log.ts';
import { TENANT_RETENTION_ATTRIBUTES } from '#shared/aws/dynamo/tenant-retention.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import type { RuntimeEnvironment } from '../runtime-environment.ts';
import type { EventSubscription } from './event-subscription.construct.ts';
import { PlatformFunction } from './platform-function.construct.ts';
import type { SecureTable } from './secure-table.construct.ts';

/** What the recorder writes (event and id items) and reads (id items, tenants' retention): its grant. */
export const EVENT_RECORDER_ATTRIBUTES = {
  put: [...EVENT_LOG_ITEM_ATTRIBUTES.log, ...EVENT_LOG_ITEM_ATTRIBUTES.id],
  get: [...EVENT_LOG_ITEM_ATTRIBUTES.idRead, ...TENANT_RETENTION_ATTRIBUTES],
} as const;

export const EVENT_RECORDER_ALARM_PERIOD = Duration.minutes(5);
/** An event waiting longer than this on the recorder's queue means the recorder is failing or stopped. */
export const EVENT_RECORDER_MAX_BACKLOG_AGE = Duration.minutes(5);

export interface EventRecorderProps {
  /** The recorder's subscription to the bus (stateful stack): its event and pairing-secrets queues. */
  readonly subscription: EventSubscription;
  readonly platformTable: SecureTable;
  /** The whole contract: `shared/config.ts` reads all of it at cold start. */
  readonly environment: RuntimeEnvironment;
  /** Each event source's `MaximumConcurrency` (2 to 1,000): the recorder's share of the account's pool. */
  readonly maxConcurrency: number;
}

export class EventRecorder extends Construct {
  readonly function: PlatformFunction;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: EventRecorderProps) {
    super(scope, id);
    this.function = new PlatformFunction(this, 'Function', {
      entry: 'functions/consumers/event-recorder-handler.ts',
      description: 'clinic-wa: records every platform event in its tenant’s event log (GET /v1/events)',
      timeout: Duration.seconds(EVENT_RECORDER_SOURCE.timeoutSeconds),
      memorySize: 1024,
    });
    const fn = this.function;
    props.platformTable.bindAttributeAccess(fn.consumer, EVENT_RECORDER_ATTRIBUTES);
    fn.completeEnvironment(props.environment);
    // Each source grants receiving, deleting and changing the visibility of its queue's messages,
    // and nothing of the dead-letter queue (the dead-letters tool reads it, not the function).
    for (const queue of [props.subscription.queue.queue, props.subscription.pairingSecretsQueue]) {
      fn.function.addEventSource(
        new SqsEventSource(queue, {
          batchSize: EVENT_RECORDER_SOURCE.batchSize,
          reportBatchItemFailures: true,
          maxConcurrency: props.maxConcurrency,
        }),
      );
    }

    const sum = { period: EVENT_RECORDER_ALARM_PERIOD, statistic: Stats.SUM };
    this.alarm(
      'Errors',
      fn.function.metricErrors(sum),
      1,
      'The event recorder failed an invocation (Lambda Errors): a whole batch failed, a crash or a timeout. ' +
        'Its records come back after the queue’s visibility timeout.',
    );
    this.alarm(
      'Throttles',
      fn.function.metricThrottles(sum),
      1,
      'Lambda throttled the event recorder: the account’s concurrent executions are used up (the recorder has ' +
        'no reservation). Its records wait on the queue; if it lasts, the Backlog alarm follows.',
    );
    this.alarm(
      'NotRecorded',
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: EVENTS_NOT_RECORDED_METRIC,
        dimensionsMap: { service: SERVICE_NAME },
        ...sum,
      }),
      1,
      'Events were not recorded and will be tried again (EMF EventsNotRecorded): a record that is not an event ' +
        '(it reaches the dead-letter queue after 5 receives) or DynamoDB failing. The log says which, by message id.',
    );
    this.alarm(
      'Backlog',
      props.subscription.queue.queue.metricApproximateAgeOfOldestMessage({
        period: EVENT_RECORDER_ALARM_PERIOD,
        statistic: Stats.MAXIMUM,
      }),
      EVENT_RECORDER_MAX_BACKLOG_AGE.toSeconds(),
      'An event has waited 5 minutes on the recorder’s queue: the recorder is failing, throttled or disabled, ' +
        'and GET /v1/events falls behind.',
    );
  }

  private alarm(id: string, metric: Metric, threshold: number, description: string): void {
    this.alarms.push(
      metric.createAlarm(this, `${id}Alarm`, {
        alarmDescription: `${description} (docs/infra.md, The consumers stack)`,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
