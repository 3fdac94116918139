// The platform's event consumers (docs/infra.md, "The consumers stack"): the webhook dispatcher's
// Lambda functions on the queues of the stateful stack. Stateless like the API stack: it can be
// destroyed and redeployed; the queues, the deliveries and the webhooks live in the stateful stack.
import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { WebhookDispatcher } from './constructs/webhook-dispatcher.construct.ts';
import type { StatefulStack } from './stateful-stack.ts';

export interface ConsumersStackProps extends StackProps {
  readonly stateful: StatefulStack;
}

export class ConsumersStack extends Stack {
  readonly webhookDispatcher: WebhookDispatcher;

  constructor(scope: Construct, id: string, props: ConsumersStackProps) {
    super(scope, id, props);
    this.webhookDispatcher = new WebhookDispatcher(this, 'WebhookDispatcher', { stateful: props.stateful });
  }
}
