// The platform's queue consumers on one machine, each the Lambda handler the stack deploys, fed by
// the local event source mapping (queue-consumers.ts): what `npm start` runs beside the API, and
// what the API tests start when they need events recorded. The webhook dispatcher joins here.
import {
  createEventRecorder,
  EVENT_RECORDER_SOURCE,
  type EventRecorderOptions,
} from '#functions/consumers/event-recorder.ts';
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
  const consumers = [
    startQueueConsumer({ ...common, name: 'event-recorder', queueUrl: resources.recorderQueueUrl }),
    startQueueConsumer({
      ...common,
      name: 'event-recorder-pairing',
      queueUrl: resources.recorderPairingQueueUrl,
    }),
  ];
  return {
    consumers,
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      platform.clients.sqs.destroy();
      platform.clients.dynamoBase.destroy();
    },
  };
}
