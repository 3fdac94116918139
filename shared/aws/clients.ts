// SDK clients built from typed configuration: the endpoint comes from `AWS_ENDPOINT_URL` (or the
// per-service variable), so the same code talks to moto, LocalStack or AWS.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsConfig, AwsService } from '../config.ts';

function baseOptions(config: AwsConfig, service: AwsService) {
  const endpoint = config.endpoints[service];
  return { region: config.region, ...(endpoint ? { endpoint } : {}) };
}

/**
 * DynamoDB answers in milliseconds; a call that has not answered in seconds never will (a lost
 * route), and without a timeout it would hold whatever awaits it (a send, a lease round) forever.
 * The SDK retries a timed-out call like any transient failure. Without `throwOnRequestTimeout` the
 * SDK's HTTP handler only logs a warning when `requestTimeout` passes and goes on waiting.
 */
export const DYNAMO_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 15_000,
  throwOnRequestTimeout: true,
};

/**
 * S3 the same way, sized for an upload part (5 MiB) or a PutObject: connected within 3 s, answered
 * within 60 s, and no 30 s without a byte either way (a response body being read included).
 */
export const S3_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 60_000,
  throwOnRequestTimeout: true,
  socketTimeout: 30_000,
};

/**
 * For a request a client waits on (an API function, 10 s to answer): a call that has not answered
 * in 3 s is tried once more, so a stuck call ends as an error the function reports (a 5xx with its
 * request id, counted in `Faults`) before Lambda's timeout cuts it off with nothing said.
 */
export const DYNAMO_REQUEST_PATH_TIMEOUTS = {
  connectionTimeout: 1_000,
  requestTimeout: 3_000,
  throwOnRequestTimeout: true,
};

/** The plain client, for libraries that take one (Powertools Idempotency); our code uses the next. */
export function createDynamoBaseClient(
  config: AwsConfig,
  profile: 'background' | 'request' = 'background',
): DynamoDBClient {
  return new DynamoDBClient({
    ...baseOptions(config, 'dynamodb'),
    ...(profile === 'request'
      ? { requestHandler: DYNAMO_REQUEST_PATH_TIMEOUTS, maxAttempts: 2 }
      : { requestHandler: DYNAMO_TIMEOUTS }),
  });
}

export function createDynamoClient(
  config: AwsConfig,
  base: DynamoDBClient = createDynamoBaseClient(config),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSqsClient(config: AwsConfig): SQSClient {
  // Queue URLs from CloudFormation name the real AWS host; never let a URL pick the endpoint.
  return new SQSClient({ ...baseOptions(config, 'sqs'), useQueueUrlAsEndpoint: false });
}

export function createKmsClient(config: AwsConfig): KMSClient {
  return new KMSClient(baseOptions(config, 'kms'));
}

export function createEventBridgeClient(config: AwsConfig): EventBridgeClient {
  return new EventBridgeClient(baseOptions(config, 'eventbridge'));
}

export function createS3Client(config: AwsConfig): S3Client {
  // Emulators serve buckets by path, not by virtual host.
  return new S3Client({
    ...baseOptions(config, 's3'),
    forcePathStyle: config.endpoints.s3 !== undefined,
    requestHandler: S3_TIMEOUTS,
    // A presigned PUT would otherwise carry the checksum of an empty body, which the upload's
    // bytes cannot match; S3 checks payloads where its API requires a checksum.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export function createCloudWatchClient(config: AwsConfig): CloudWatchClient {
  return new CloudWatchClient(baseOptions(config, 'cloudwatch'));
}
