// SDK clients for an emulator (moto, LocalStack): explicit endpoint, region and throwaway
// credentials, so nothing is read from the developer's ~/.aws and nothing can reach a real account.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

export const EMULATOR_REGION = 'us-east-1';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** For child processes and `export` lines: the same settings as environment variables. */
export const EMULATOR_CREDENTIAL_ENV = {
  AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
} as const;

export interface EmulatorTarget {
  readonly endpoint: string;
  readonly region: string;
}

export interface EmulatorClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly eventBridge: EventBridgeClient;
  readonly kms: KMSClient;
  readonly s3: S3Client;
  readonly cloudWatch: CloudWatchClient;
  destroy(): void;
}

export function emulatorClients({ endpoint, region }: EmulatorTarget): EmulatorClients {
  const common = { endpoint, region, credentials: EMULATOR_CREDENTIALS };
  const clients = {
    dynamodb: new DynamoDBClient(common),
    // Queue URLs may name real AWS hosts (CloudFormation's form); never let them pick the endpoint.
    sqs: new SQSClient({ ...common, useQueueUrlAsEndpoint: false }),
    eventBridge: new EventBridgeClient(common),
    kms: new KMSClient(common),
    // Emulators serve buckets by path, not by virtual host.
    s3: new S3Client({ ...common, forcePathStyle: true }),
    cloudWatch: new CloudWatchClient(common),
  };
  return {
    ...clients,
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
