// The platform's event bus and its subscriptions: runners and the API publish platform events
// (`shared/domain/events.ts`); the recorder and the webhook dispatcher each get every one of them,
// pairing secrets on a short-lived queue of their own.
import { Duration } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_HOLD_LIMITS } from '#shared/domain/event-sequence.ts';
import { EVENT_SOURCES } from '#shared/domain/events.ts';
import type { RuntimeConsumer } from '../runtime-environment.ts';
import { EventSubscription } from './event-subscription.construct.ts';
import { MAX_RECEIVE_COUNT } from './secure-queue.construct.ts';

const sources = Object.values(EVENT_SOURCES);

/**
 * Receives of a webhook event before its DLQ: every hold for its turn in its channel's order is one
 * (the fan-out hands a held event back for `holdSeconds`, and one behind it in a batch waits with
 * it); the fan-out stops holding an event after `EVENT_HOLD_LIMITS.maxReceives` receives, so the
 * queue leaves room for those on top of the usual five failed receives. A record that fails for good
 * (malformed) takes 35 × 180 s to get there; the `EventBacklog` alarm has called by then.
 */
export const WEBHOOK_EVENT_MAX_RECEIVE_COUNT = MAX_RECEIVE_COUNT + EVENT_HOLD_LIMITS.maxReceives;

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
      maxReceiveCount: WEBHOOK_EVENT_MAX_RECEIVE_COUNT,
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
