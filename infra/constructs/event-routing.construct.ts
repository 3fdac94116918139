// The platform's event bus and its subscriptions: runners and the API publish platform events
// (`shared/domain/events.ts`); the recorder and the webhook dispatcher each get every one of them,
// pairing secrets on a short-lived queue of their own.
import { Duration } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCES } from '#shared/domain/events.ts';
import type { RuntimeConsumer } from '../runtime-environment.ts';
import { EventSubscription } from './event-subscription.construct.ts';

const sources = Object.values(EVENT_SOURCES);

export class EventRouting extends Construct {
  readonly bus: EventBus;
  readonly recorder: EventSubscription;
  readonly webhooks: EventSubscription;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'clinic-wa platform events' });
    this.recorder = new EventSubscription(this, 'Recorder', {
      bus: this.bus,
      sources,
      description: 'Every platform event to the recorder (message and status history, channel state)',
      visibilityTimeout: Duration.seconds(60),
      environmentKey: 'RECORDER_QUEUE_URL',
      pairingSecretsEnvironmentKey: 'RECORDER_PAIRING_QUEUE_URL',
    });
    this.webhooks = new EventSubscription(this, 'Webhooks', {
      bus: this.bus,
      sources,
      description: 'Every platform event to the webhook dispatcher',
      // A batch of signed POSTs to slow clinic servers, each with its own timeout.
      visibilityTimeout: Duration.seconds(180),
      environmentKey: 'WEBHOOK_QUEUE_URL',
      pairingSecretsEnvironmentKey: 'WEBHOOK_PAIRING_QUEUE_URL',
    });
  }

  get busName(): string {
    return this.bus.eventBusName;
  }

  bindPublish(consumer: RuntimeConsumer): void {
    this.bus.grantPutEventsTo(consumer);
    consumer.addEnvironment('EVENT_BUS_NAME', this.busName);
  }
}
