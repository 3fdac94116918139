// The AWS emulators the platform benchmarks run against: moto (patched by infra/local/moto_patches.py)
// with the stateful stack provisioned into it, and the shards' command queues copied to fauxqs, a
// faster SQS emulator, as issue 4 suggests for benchmarks (`BENCH_SQS=moto` keeps them on moto); the
// events benchmark also copies the webhook dispatcher's delivery queues (ordered and jobs), which
// only the dispatcher and the API send to. EventBridge rules cannot target another emulator, so the
// event queues stay on moto. What served each service is recorded with the results (`emulators`).
import { EMULATOR_CREDENTIAL_ENV } from '#infra/local/aws-clients.ts';
import { type LocalAws, startLocalAws } from '#infra/local/local-aws.ts';
import { AWS_SERVICES, type AwsService } from '#shared/config.ts';
import { createPlatform } from '#shared/platform.ts';
import { type Fauxqs, startFauxqs } from './runner/fauxqs.ts';
import { childProcesses } from './runner/proc.ts';

export interface BenchEmulators {
  readonly aws: LocalAws;
  readonly motoPid: number | undefined;
  /** The command queues' emulator when fauxqs serves them (the default). */
  readonly fauxqs: Fauxqs | undefined;
  /** Which queues fauxqs serves, in words (for `servedBy`). */
  readonly fauxqsQueues: string;
  /** moto alone: the stack's environment with moto's endpoint (its SQS holds the event queues). */
  readonly motoEnvironment: Record<string, string>;
  /** What the runner, the API and the bench's own platform read: the command queues on fauxqs. */
  readonly environment: Record<string, string>;
  stop(): Promise<void>;
}

export interface BenchEmulatorOptions {
  /**
   * Also copy the webhook dispatcher's delivery queues (the ordered FIFO queue of first tries and the
   * jobs queue) to fauxqs: WEBHOOK_ORDERED_QUEUE_URL and WEBHOOK_DELIVERY_QUEUE_URL name the copies.
   */
  readonly webhookDeliveryQueues?: boolean;
}

export async function startBenchEmulators(options: BenchEmulatorOptions = {}): Promise<BenchEmulators> {
  // Like AWS, moto refuses a second PurgeQueue within 60 s; the stand-in consumers of the event
  // queues purge them every 2 s (bench/runner/downstream.ts), so this moto allows it.
  process.env.MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR = 'false';
  const aws = await startLocalAws();
  const motoPid = childProcesses(/python/)[0];
  const motoEnvironment = {
    ...EMULATOR_CREDENTIAL_ENV,
    ...aws.env,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
  };
  // The bench's own clients read their credentials from the environment too.
  Object.assign(process.env, EMULATOR_CREDENTIAL_ENV);
  const moto = createPlatform({ source: 'runner', env: motoEnvironment });
  const { commandQueueUrls, webhookOrderedQueueUrl, webhookDeliveryQueueUrl } = moto.resources;
  const deliveryQueues = options.webhookDeliveryQueues
    ? [webhookOrderedQueueUrl, webhookDeliveryQueueUrl]
    : [];
  const fauxqs =
    process.env.BENCH_SQS === 'moto'
      ? undefined
      : await startFauxqs(moto.clients.sqs, [...commandQueueUrls, ...deliveryQueues]);
  const copies = fauxqs?.queueUrls ?? [];
  const environment: Record<string, string> = fauxqs
    ? {
        ...motoEnvironment,
        AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
        COMMAND_QUEUE_URLS: copies.slice(0, commandQueueUrls.length).join(','),
        ...(options.webhookDeliveryQueues
          ? {
              WEBHOOK_ORDERED_QUEUE_URL: copies[commandQueueUrls.length] ?? '',
              WEBHOOK_DELIVERY_QUEUE_URL: copies[commandQueueUrls.length + 1] ?? '',
            }
          : {}),
      }
    : motoEnvironment;
  return {
    aws,
    motoPid,
    fauxqs,
    fauxqsQueues: options.webhookDeliveryQueues
      ? 'command queues, webhook delivery queues (ordered, jobs)'
      : 'command queues',
    motoEnvironment,
    environment,
    async stop() {
      moto.clients.sqs.destroy();
      await aws.stop();
      await fauxqs?.stop();
    },
  };
}

const MOTO_PATCHES =
  'infra/local/moto_patches.py (TransactWriteItems O(items) and locked; FIFO long polls woken by deletes; routes and JSONPath remembered; 0.5 ms thread switches)';

export interface ServedBy {
  readonly emulator: string;
  readonly endpoint: string;
  readonly patches?: string;
}

/** Which emulator served an AWS service; an endpoint set in the environment wins over both. */
export function servedBy(emulators: BenchEmulators, service: AwsService): ServedBy {
  const override = process.env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`];
  if (override) return { emulator: 'external', endpoint: override };
  if (service === 'sqs' && emulators.fauxqs) {
    return {
      emulator: `fauxqs 1.9.2 (${emulators.fauxqsQueues}); moto (event queues, filled by EventBridge rules)`,
      endpoint: emulators.fauxqs.endpoint,
    };
  }
  return { emulator: 'moto', endpoint: emulators.aws.endpoint, patches: MOTO_PATCHES };
}

/** Every service's emulator, as the results record it. */
export function servedServices(emulators: BenchEmulators): Record<AwsService, ServedBy> {
  return Object.fromEntries(AWS_SERVICES.map((service) => [service, servedBy(emulators, service)])) as Record<
    AwsService,
    ServedBy
  >;
}
