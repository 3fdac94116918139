// Child process of the events benchmark: the webhook dispatcher as `npm start` runs it
// (infra/local/consumers-platform.ts): the Lambda handlers of functions/consumers/
// webhook-dispatcher.ts, built by `dispatcherOf` from a platform read from this process's
// environment, each fed by the local SQS event source (infra/local/queue-consumers.ts) with the
// stack's batch sizes and timeouts (WEBHOOK_DISPATCHER_SOURCES) and `npm start`'s pollers per queue.
//
// One difference, where the queues live: the webhook event queues are filled by EventBridge rules,
// so they stay on moto, while the delivery queues the dispatcher sends to itself may be on fauxqs
// (bench/emulators.ts). As on AWS, where the event source mapping polls with its own client and the
// function sends with its own, the event queues' sources read with a client of moto
// (`BENCH_EVENT_SOURCE_SQS_ENDPOINT`) and everything else uses the platform's. The recorder is not
// run: the benchmark stands in for it (its queues are purged).
//
// Protocol (IPC): → 'ready' with the consumers' names; ← 'stats' → 'stats' with each consumer's
// counts. SIGTERM stops the pollers (the invocations under way finish) and exits.
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  createDispatcherHandlers,
  dispatcherOf,
  WEBHOOK_DISPATCHER_SOURCES,
} from '#functions/consumers/webhook-dispatcher.ts';
import { type QueueConsumer, startQueueConsumer } from '#infra/local/queue-consumers.ts';
import { SqsMessageVisibility } from '#shared/aws/sqs-message-visibility.ts';
import { createPlatform } from '#shared/platform.ts';
import { LOCAL_POLLERS_PER_QUEUE } from './processes.ts';

export type DispatcherReply =
  | { readonly type: 'ready'; readonly consumers: readonly string[] }
  | {
      readonly type: 'stats';
      readonly stats: Record<string, { invocations: number; deleted: number; failed: number }>;
      readonly errors: Record<string, Record<string, number>>;
    };

const env = process.env;
const platform = createPlatform({ source: 'webhooks', env });
const eventSourceEndpoint = env.BENCH_EVENT_SOURCE_SQS_ENDPOINT;
const eventSourceSqs = eventSourceEndpoint
  ? new SQSClient({
      region: platform.aws.region,
      endpoint: eventSourceEndpoint,
      useQueueUrlAsEndpoint: false,
    })
  : platform.clients.sqs;
const pollers = Number(env.BENCH_DISPATCHER_POLLERS ?? LOCAL_POLLERS_PER_QUEUE);
// A held event's visibility is set where its record was received: on the event sources' queues.
const dispatcher = createDispatcherHandlers(dispatcherOf(platform, env), {
  visibility: new SqsMessageVisibility(eventSourceSqs, [
    platform.resources.webhookQueueUrl,
    platform.resources.webhookPairingQueueUrl,
  ]),
});
const { fanOut, delivery } = WEBHOOK_DISPATCHER_SOURCES;
const { resources } = platform;
const sources = [
  [
    'webhook-fan-out',
    eventSourceSqs,
    resources.webhookQueueUrl,
    dispatcher.fanOut,
    fanOut.events.batchSize,
    fanOut.timeoutSeconds,
  ],
  [
    'webhook-fan-out-pairing',
    eventSourceSqs,
    resources.webhookPairingQueueUrl,
    dispatcher.fanOut,
    fanOut.pairing.batchSize,
    fanOut.timeoutSeconds,
  ],
  [
    'webhook-delivery-ordered',
    platform.clients.sqs,
    resources.webhookOrderedQueueUrl,
    dispatcher.deliveries,
    delivery.ordered.batchSize,
    delivery.timeoutSeconds,
  ],
  [
    'webhook-delivery',
    platform.clients.sqs,
    resources.webhookDeliveryQueueUrl,
    dispatcher.deliveries,
    delivery.jobs.batchSize,
    delivery.timeoutSeconds,
  ],
] as const;
/** Receives and deletes that failed, by consumer and error (the event source logs each and goes on). */
const errors: Record<string, Record<string, number>> = {};
const consumers: QueueConsumer[] = sources.map(([name, sqs, queueUrl, handler, batchSize, timeoutSeconds]) =>
  startQueueConsumer({
    onError: (error) => {
      const key = `${(error as Error)?.name}: ${(error as Error)?.message}`;
      errors[name] = { ...errors[name], [key]: (errors[name]?.[key] ?? 0) + 1 };
      console.error(`${name}: ${key}`);
    },
    name,
    sqs,
    queueUrl,
    handler,
    batchSize,
    timeoutMs: timeoutSeconds * 1000,
    region: platform.aws.region,
    concurrency: pollers,
  }),
);

const reply = (message: DispatcherReply) => process.send?.(message);
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'stats') return;
  reply({
    type: 'stats',
    stats: Object.fromEntries(consumers.map((consumer) => [consumer.name, { ...consumer.stats }])),
    errors,
  });
});
process.on('SIGTERM', () => {
  void Promise.all(consumers.map((consumer) => consumer.stop())).finally(() => process.exit(0));
});
reply({ type: 'ready', consumers: consumers.map((consumer) => consumer.name) });
