// The shards' command queues on fauxqs (npm), a faster SQS emulator than moto, as issue 4 suggests
// for benchmarks: the runner reaches it through AWS_ENDPOINT_URL_SQS, while its events still go
// through moto's EventBridge to moto's queues (rule targets cannot cross emulators). Each queue is
// made as the stack makes it: FIFO, the same visibility timeout and delivery delay (the webhook
// dispatcher's ordered queue holds every message 1 s), a FIFO dead-letter queue after the same number
// of receives.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { freePort } from '#infra/local/moto-server.ts';

export interface Fauxqs {
  readonly endpoint: string;
  readonly pid: number | undefined;
  /** The copies of `motoQueueUrls`, in the same order. */
  readonly queueUrls: readonly string[];
  readonly client: SQSClient;
  stop(): Promise<void>;
}

const COPIED_ATTRIBUTES: QueueAttributeName[] = [
  'FifoQueue',
  'VisibilityTimeout',
  'DelaySeconds',
  'ContentBasedDeduplication',
  'RedrivePolicy',
  'MessageRetentionPeriod',
];

export async function startFauxqs(motoSqs: SQSClient, motoQueueUrls: readonly string[]): Promise<Fauxqs> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const cli = join(dirname(fileURLToPath(import.meta.resolve('fauxqs'))), 'cli.js');
  const child = spawn(process.execPath, [cli], {
    env: { ...process.env, FAUXQS_PORT: String(port), FAUXQS_HOST: 'localhost', FAUXQS_LOGGER: 'false' },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // It must not outlive the benchmark, however the benchmark ends.
  const killWithUs = () => child.kill('SIGKILL');
  process.once('exit', killWithUs);
  const stop = async () => {
    process.off('exit', killWithUs);
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await until(async () => (await fetch(`${endpoint}/health`).catch(() => null))?.ok ?? false, child);
    const client = new SQSClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const queueUrls = [];
    for (const url of motoQueueUrls) queueUrls.push(await copyQueue(motoSqs, client, url));
    return { endpoint, pid: child.pid, queueUrls, client, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function copyQueue(from: SQSClient, to: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes = {} } = await from.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: COPIED_ATTRIBUTES }),
  );
  const name = queueUrl.split('/').at(-1) ?? '';
  const attributes: Record<string, string> = { ...Attributes };
  if (Attributes.RedrivePolicy) {
    const redrive = JSON.parse(Attributes.RedrivePolicy) as {
      deadLetterTargetArn: string;
      maxReceiveCount: number;
    };
    const dlqName = redrive.deadLetterTargetArn.split(':').at(-1) ?? '';
    const dlq = await to.send(
      new CreateQueueCommand({
        QueueName: dlqName,
        Attributes: dlqName.endsWith('.fifo') ? { FifoQueue: 'true' } : {},
      }),
    );
    const dlqArn = await to.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
      maxReceiveCount: redrive.maxReceiveCount,
    });
  }
  if (attributes.FifoQueue !== 'true') delete attributes.FifoQueue;
  if (attributes.FifoQueue !== 'true') delete attributes.ContentBasedDeduplication;
  const created = await to.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return created.QueueUrl as string;
}

async function until(ready: () => Promise<boolean>, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await ready())) {
    if (child.exitCode !== null) throw new Error(`fauxqs exited (${child.exitCode}) before answering`);
    if (Date.now() > deadline) throw new Error('fauxqs did not answer within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
