import { createServer, type Server, type Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DYNAMO_TIMEOUTS, S3_TIMEOUTS } from '#shared/aws/clients.ts';

/** A server that takes connections and never answers: a lost route as the client sees it. */
let silent: Server;
const sockets = new Set<Socket>();
let endpoint = '';

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const options = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

describe('AWS clients give up on a server that never answers', () => {
  // The runner's timeouts, shortened to keep the test short: a call fails instead of waiting forever.
  it('DynamoDB', async () => {
    const client = new DynamoDBClient({
      ...options,
      endpoint,
      requestHandler: { ...DYNAMO_TIMEOUTS, requestTimeout: 300 },
    });
    const call = client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }));
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('S3', async () => {
    const client = new S3Client({
      ...options,
      endpoint,
      forcePathStyle: true,
      requestHandler: { ...S3_TIMEOUTS, requestTimeout: 300, socketTimeout: 300 },
    });
    const call = client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));
    await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
