// Stands in for the platform's event consumers (the recorder and webhook Lambdas) during the runner
// benchmark. The runner's events reach those queues through EventBridge rules; nothing consumes
// them here, and moto computes a queue's attributes (an O(depth) scan) on every message sent to it,
// so undrained queues made each PutEvents slower as the run went on — the emulator, not the runner.
// Purging them every few seconds keeps them as shallow as consumers would (the runner's PutEvents
// calls still happen and are still counted). moto, like AWS, allows one purge a minute unless
// MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR is false, as the benchmark sets it; before it did,
// the queues grew by thousands a minute and each event delivered cost moto a scan of them.
import { PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';

export function drainDownstreamQueues(sqs: SQSClient, queueUrls: readonly string[], everyMs = 2_000) {
  let stopped = false;
  let purges = 0;
  const loop = (async () => {
    while (!stopped) {
      for (const QueueUrl of queueUrls) {
        await sqs.send(new PurgeQueueCommand({ QueueUrl })).then(
          () => purges++,
          () => undefined, // a purge refused (e.g. rate-limited) is retried next round
        );
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      return purges;
    },
  };
}
