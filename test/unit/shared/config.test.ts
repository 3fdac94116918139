import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  loadAwsConfig,
  loadObservabilityConfig,
  loadResourceConfig,
  loadWebhookUrlPolicy,
} from '#shared/config.ts';

const resources = {
  PLATFORM_TABLE_NAME: 'platform',
  SESSIONS_TABLE_NAME: 'sessions',
  IDEMPOTENCY_TABLE_NAME: 'idempotency',
  COMMAND_QUEUE_URLS:
    'http://127.0.0.1:5000/123456789012/commands-0.fifo, http://127.0.0.1:5000/123456789012/commands-1.fifo',
  SHARD_COUNT: '2',
  EVENT_BUS_NAME: 'clinic-wa-events',
  RECORDER_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/recorder',
  WEBHOOK_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/webhooks',
  RECORDER_PAIRING_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/recorder-pairing',
  WEBHOOK_PAIRING_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/webhooks-pairing',
  WEBHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/webhook-deliveries',
  WEBHOOK_ORDERED_QUEUE_URL: 'http://127.0.0.1:5000/123456789012/webhook-ordered.fifo',
  SESSION_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/abc',
  MEDIA_BUCKET_NAME: 'media',
};

describe('configuration', () => {
  it('reads the stack resources into a typed object', () => {
    const config = loadResourceConfig(resources);
    expect(config.shardCount).toBe(2);
    expect(config.commandQueueUrls).toEqual([
      'http://127.0.0.1:5000/123456789012/commands-0.fifo',
      'http://127.0.0.1:5000/123456789012/commands-1.fifo',
    ]);
    expect(config.platformTable).toBe('platform');
  });

  it('fails fast naming every missing or malformed variable', () => {
    const { PLATFORM_TABLE_NAME: _, ...withoutTable } = resources;
    const attempt = () =>
      loadResourceConfig({ ...withoutTable, SHARD_COUNT: 'many', RECORDER_QUEUE_URL: 'not a url' });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/PLATFORM_TABLE_NAME is required/);
    expect(attempt).toThrow(/SHARD_COUNT/);
    expect(attempt).toThrow(/RECORDER_QUEUE_URL/);
  });

  it('requires one command queue per shard', () => {
    expect(() => loadResourceConfig({ ...resources, SHARD_COUNT: '3' })).toThrow(
      /COMMAND_QUEUE_URLS: must list exactly SHARD_COUNT queue URLs/,
    );
  });

  it('takes a per-service endpoint over the shared one, and none means AWS itself', () => {
    const config = loadAwsConfig({
      AWS_REGION: 'sa-east-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
    });
    expect(config.region).toBe('sa-east-1');
    expect(config.endpoints.dynamodb).toBe('http://127.0.0.1:5000');
    expect(config.endpoints.sqs).toBe('http://127.0.0.1:9324');
    expect(loadAwsConfig({}).endpoints.kms).toBeUndefined();
    expect(() => loadAwsConfig({ AWS_ENDPOINT_URL: 'localhost' })).toThrow(/AWS_ENDPOINT_URL/);
  });

  it('defaults the log level and rejects an unknown one', () => {
    expect(loadObservabilityConfig({}).logLevel).toBe('INFO');
    expect(() => loadObservabilityConfig({ LOG_LEVEL: 'LOUD' })).toThrow(/LOG_LEVEL/);
  });

  it('lets webhooks reach loopback only when told so, and refuses anything but true or false', () => {
    expect(loadWebhookUrlPolicy({})).toEqual({ allowLoopback: false });
    expect(loadWebhookUrlPolicy({ WEBHOOK_ALLOW_LOOPBACK: 'true' })).toEqual({ allowLoopback: true });
    expect(() => loadWebhookUrlPolicy({ WEBHOOK_ALLOW_LOOPBACK: 'yes' })).toThrow(/WEBHOOK_ALLOW_LOOPBACK/);
  });
});
