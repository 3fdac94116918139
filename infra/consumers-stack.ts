// The platform's event consumers: Lambda functions fed by the consumers' queues of the stateful
// stack: the event recorder (GET /v1/events) and the webhook dispatcher (its fan-out on the webhook
// event queues, its delivery worker on the deliveries' queues).
// Stateless like the API stack, and apart from it: a consumer deploys, scales and alarms on its own,
// and the API stack stays the REST API and its functions.
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EventRecorder } from './constructs/event-recorder.construct.ts';
import { WebhookDispatcher } from './constructs/webhook-dispatcher.construct.ts';
import type { StatefulStack } from './stateful-stack.ts';

/**
 * How much of the account's Lambda concurrency the consumers may take (docs/infra.md, "Consumer
 * concurrency"). `…MaxConcurrency` is each SQS event source's `MaximumConcurrency` (Lambda runs at most
 * that many of the function for that queue); a reservation keeps that many executions for the
 * function alone, and is also its ceiling (`undefined`: none).
 */
export interface ConsumerConcurrency {
  readonly recorderMaxConcurrency: number;
  readonly fanOutMaxConcurrency: number;
  readonly fanOutReservedConcurrency: number | undefined;
  readonly deliveryMaxConcurrency: number;
  readonly deliveryReservedConcurrency: number | undefined;
}

/**
 * Against the default quota of 1,000 concurrent executions: the consumers take at most 5 + 5 (the
 * recorder's two queues) + 5 + 5 (fan-out) + 10 + 10 (delivery) = 40, and reserve 30 (the two
 * dispatcher functions, each exactly what its two sources may run), leaving 970 unreserved for the
 * API (Lambda requires at least 100 unreserved).
 */
export const DEFAULT_CONSUMER_CONCURRENCY: ConsumerConcurrency = {
  recorderMaxConcurrency: 5,
  fanOutMaxConcurrency: 5,
  fanOutReservedConcurrency: 10,
  deliveryMaxConcurrency: 10,
  deliveryReservedConcurrency: 20,
};

export interface ConsumersStackProps extends StackProps {
  readonly stateful: StatefulStack;
  /** `DEFAULT_CONSUMER_CONCURRENCY` if absent. */
  readonly concurrency?: ConsumerConcurrency;
}

export class ConsumersStack extends Stack {
  readonly recorder: EventRecorder;
  readonly webhookDispatcher: WebhookDispatcher;

  constructor(scope: Construct, id: string, props: ConsumersStackProps) {
    super(scope, id, props);
    const { stateful } = props;
    const concurrency = props.concurrency ?? DEFAULT_CONSUMER_CONCURRENCY;
    this.recorder = new EventRecorder(this, 'Recorder', {
      subscription: stateful.events.recorder,
      platformTable: stateful.platformTable,
      environment: stateful.runtimeEnvironment(),
      maxConcurrency: concurrency.recorderMaxConcurrency,
    });
    this.webhookDispatcher = new WebhookDispatcher(this, 'WebhookDispatcher', {
      stateful,
      fanOut: {
        maxConcurrency: concurrency.fanOutMaxConcurrency,
        reservedConcurrency: concurrency.fanOutReservedConcurrency,
      },
      delivery: {
        maxConcurrency: concurrency.deliveryMaxConcurrency,
        reservedConcurrency: concurrency.deliveryReservedConcurrency,
      },
    });
  }
}
