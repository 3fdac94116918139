// The platform's queue consumers on one machine, each the Lambda handler the stack deploys, fed by
// the local event source mapping (queue-consumers.ts): what `npm start` runs beside the API, and
// what the API tests start when they need events recorded or webhooks delivered. The recorder on
// its two queues; the webhook dispatcher's fan-out on the webhook event queues and its delivery
// worker on the ordered and the jobs queue (functions/consumers/webhook-dispatcher.ts).
import {
  createEventRecorder,
  EVENT_RECORDER_SOURCE,
  type EventRecorderOptions,
} from '#functions/consumers/event-recorder.ts';
import {
  createDispatcherHandlers,
  dispatcherOf,
  WEBHOOK_DISPATCHER_SOURCES,
} from '#functions/consumers/webhook-dispatcher.ts';
import type { Environment } from '#shared/config.ts';
import { createPlatform } from '#shared/platform.ts';
import { type QueueConsumer, startQueueConsumer } from './queue-consumers.ts';

export interface LocalConsumers {
  readonly consumers: readonly QueueConsumer[];
  stop(): Promise<void>;
}

export interface LocalConsumersOptions {
  readonly env: Environment;
  /** Long poll of each receive (s): tests use a short one so they stop quickly. */
  readonly waitTimeSeconds?: number;
  /** Invocations at once per queue. */
  readonly concurrency?: number;
  readonly recorder?: EventRecorderOptions;
  /** The webhook dispatcher too (default true). */
  readonly webhooks?: boolean;
}

export function startLocalConsumers(options: LocalConsumersOptions): LocalConsumers {
  // As the recorder's Lambda builds it (functions/consumers/event-recorder-handler.ts).
  const platform = createPlatform({ source: 'api', env: options.env, dynamoTimeouts: 'request' });
  const recorder = createEventRecorder(platform, options.recorder);
  const { resources } = platform;
  const common = {
    sqs: platform.clients.sqs,
    handler: recorder,
    batchSize: EVENT_RECORDER_SOURCE.batchSize,
    timeoutMs: EVENT_RECORDER_SOURCE.timeoutSeconds * 1000,
    region: platform.aws.region,
    concurrency: options.concurrency ?? 2,
    ...(options.waitTimeSeconds !== undefined ? { waitTimeSeconds: options.waitTimeSeconds } : {}),
  };
  const consumers: QueueConsumer[] = [
    startQueueConsumer({ ...common, name: 'event-recorder', queueUrl: resources.recorderQueueUrl }),
    startQueueConsumer({
      ...common,
      name: 'event-recorder-pairing',
      queueUrl: resources.recorderPairingQueueUrl,
    }),
  ];
  // As the dispatcher's Lambda builds it (functions/consumers/webhook-dispatcher-handler.ts).
  const webhooksPlatform =
    options.webhooks === false ? null : createPlatform({ source: 'webhooks', env: options.env });
  if (webhooksPlatform) {
    const dispatcher = createDispatcherHandlers(dispatcherOf(webhooksPlatform, options.env), {
      visibility: webhooksPlatform.webhookEventVisibility,
    });
    const { fanOut, delivery } = WEBHOOK_DISPATCHER_SOURCES;
    const webhookQueues = webhooksPlatform.resources;
    const sources = [
      [
        'webhook-fan-out',
        webhookQueues.webhookQueueUrl,
        dispatcher.fanOut,
        fanOut.events.batchSize,
        fanOut.timeoutSeconds,
      ],
      [
        'webhook-fan-out-pairing',
        webhookQueues.webhookPairingQueueUrl,
        dispatcher.fanOut,
        fanOut.pairing.batchSize,
        fanOut.timeoutSeconds,
      ],
      [
        'webhook-delivery-ordered',
        webhookQueues.webhookOrderedQueueUrl,
        dispatcher.deliveries,
        delivery.ordered.batchSize,
        delivery.timeoutSeconds,
      ],
      [
        'webhook-delivery',
        webhookQueues.webhookDeliveryQueueUrl,
        dispatcher.deliveries,
        delivery.jobs.batchSize,
        delivery.timeoutSeconds,
      ],
    ] as const;
    for (const [name, queueUrl, handler, batchSize, timeoutSeconds] of sources) {
      consumers.push(
        startQueueConsumer({
          ...common,
          sqs: webhooksPlatform.clients.sqs,
          name,
          queueUrl,
          handler,
          batchSize,
          timeoutMs: timeoutSeconds * 1000,
        }),
      );
    }
  }
  return {
    consumers,
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      for (const built of [platform, webhooksPlatform]) {
        built?.clients.sqs.destroy();
        built?.clients.dynamoBase.destroy();
      }
    },
  };
}
