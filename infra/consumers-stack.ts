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

export interface ConsumersStackProps extends StackProps {
  readonly stateful: StatefulStack;
}

export class ConsumersStack extends Stack {
  readonly recorder: EventRecorder;
  readonly webhookDispatcher: WebhookDispatcher;

  constructor(scope: Construct, id: string, props: ConsumersStackProps) {
    super(scope, id, props);
    const { stateful } = props;
    this.recorder = new EventRecorder(this, 'Recorder', {
      subscription: stateful.events.recorder,
      platformTable: stateful.platformTable,
      environment: stateful.runtimeEnvironment(),
    });
    this.webhookDispatcher = new WebhookDispatcher(this, 'WebhookDispatcher', { stateful });
  }
}
