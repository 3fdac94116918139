// Child process of the API benchmark: the bare side of the accept latency. It issues the AWS calls one
// accepted `POST /v1/channels/{id}/messages` with an `Idempotency-Key` makes, in the API's order and
// with items of the same shape and size, through the composition root's own clients (the SDK
// clients and configuration the API's functions get from the same environment) — and nothing
// around them: no HTTP, no authorizer, no router, no validation, no use case. docs/api-benchmark.md
// lists the calls; the benchmark checks each run that the API made the same ones (call traces).
//
// Protocol (IPC): → 'ready'; ← 'prepare' (the clinic's tenant and channel) → 'prepared';
// ← 'round' → 'done' with the round's time and each call's.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { INTEGRATION_TIMEOUT_MS } from '#functions/http/gateway-responses.ts';
import { IDEMPOTENCY_TTL_SECONDS } from '#functions/http/guards.ts';
import { channelKey, messageKey, sendClaimKey, waMessageKey } from '#shared/aws/dynamo/platform-keys.ts';
import { DynamoRateLimiter } from '#shared/aws/dynamo/rate-limiter.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
import { SEND_CLAIM_TTL_SECONDS, sendRequestDigest } from '#shared/domain/send-claim.ts';
import { createPlatform, type Platform } from '#shared/platform.ts';

export interface AcceptTarget {
  readonly tenantId: string;
  readonly channelId: string;
  readonly shard: number;
  /** The recipient and text, as the API's requests carry them. */
  readonly to: string;
  readonly text: string;
}

/** The calls of one accepted request, in the order the API makes them. */
export const ACCEPT_CALLS = [
  'rate limit: UpdateItem (platform table)',
  'idempotency in progress: PutItem (idempotency table)',
  'channel: GetItem, consistent (platform table)',
  'message record: TransactWriteItems, 3 Puts: message, WhatsApp-id index, send claim (platform table)',
  'send command: SendMessage (command queue of the shard)',
  'idempotency completed: UpdateItem (idempotency table)',
] as const;

export type BareAcceptRequest =
  | { readonly type: 'prepare'; readonly target: AcceptTarget }
  | { readonly type: 'round' };

export type BareAcceptReply =
  | { readonly type: 'ready' }
  | { readonly type: 'prepared' }
  | { readonly type: 'done'; readonly ms: number; readonly callsMs: readonly number[] }
  | { readonly type: 'error'; readonly message: string };

async function round(
  platform: Platform,
  rateTenantId: string,
  of: AcceptTarget,
): Promise<{ ms: number; callsMs: number[] }> {
  const { dynamo, dynamoBase, sqs } = platform.clients;
  const { platformTable, idempotencyTable, commandQueueUrls } = platform.resources;
  const callsMs: number[] = [];
  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call();
    callsMs.push(performance.now() - started);
  };
  const started = performance.now();
  const now = new Date();
  const idempotencyId = { S: `clinic-wa-api#${randomBytes(16).toString('base64')}` };
  const payloadHash = randomBytes(16).toString('base64');

  // The rate limiter's one conditional UpdateItem, issued by the limiter itself (it adds no call).
  await timed(() => new DynamoRateLimiter(dynamo, platformTable).take(rateTenantId));

  const expiration = Math.round(now.getTime() / 1000 + IDEMPOTENCY_TTL_SECONDS);
  await timed(() =>
    dynamoBase.send(
      new PutItemCommand({
        TableName: idempotencyTable,
        Item: {
          id: idempotencyId,
          ...marshall({ expiration, status: 'INPROGRESS' }),
          // The front gives each invocation API Gateway's integration timeout as its remaining time.
          in_progress_expiration: { N: String(Date.now() + INTEGRATION_TIMEOUT_MS) },
          validation: { S: payloadHash },
        },
        ExpressionAttributeNames: {
          '#id': 'id',
          '#expiry': 'expiration',
          '#in_progress_expiry': 'in_progress_expiration',
          '#status': 'status',
        },
        ExpressionAttributeValues: marshall({
          ':now': Date.now() / 1000,
          ':now_in_millis': Date.now(),
          ':inprogress': 'INPROGRESS',
        }),
        ConditionExpression:
          'attribute_not_exists(#id) OR #expiry < :now OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );

  await timed(() =>
    dynamo.send(
      new GetCommand({
        TableName: platformTable,
        Key: channelKey(of.tenantId, of.channelId),
        ConsistentRead: true,
      }),
    ),
  );

  const command = {
    type: 'send' as const,
    commandId: newId('command', now.getTime()),
    tenantId: of.tenantId,
    channelId: of.channelId,
    issuedAt: now.toISOString(),
    messageId: newId('message', now.getTime()),
    message: { to: of.to, type: 'text' as const, text: { body: of.text } },
  };
  const message = queuedOutboundMessage(command, now);
  const requestKey = `bench-${randomBytes(16).toString('hex')}`;
  await timed(() =>
    dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: platformTable,
              Item: { ...messageKey(of.tenantId, of.channelId, message.id), entity: 'message', ...message },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: platformTable,
              Item: {
                ...waMessageKey(of.tenantId, of.channelId, message.waMessageId),
                messageId: message.id,
                direction: message.direction,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: platformTable,
              Item: {
                ...sendClaimKey(of.tenantId, requestKey),
                entity: 'send_claim',
                requestDigest: sendRequestDigest(of.channelId, command.message),
                channelId: of.channelId,
                messageId: message.id,
                commandId: command.commandId,
                issuedAt: command.issuedAt,
                expiresAt: Math.floor(now.getTime() / 1000) + SEND_CLAIM_TTL_SECONDS,
              },
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
              ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    ),
  );

  await timed(() =>
    sqs.send(
      new SendMessageCommand({
        QueueUrl: commandQueueUrls[of.shard],
        MessageBody: JSON.stringify(command),
        MessageGroupId: of.channelId,
        MessageDeduplicationId: command.commandId,
      }),
    ),
  );

  await timed(() =>
    dynamoBase.send(
      new UpdateItemCommand({
        TableName: idempotencyTable,
        Key: { id: idempotencyId },
        UpdateExpression:
          'SET #expiry = :expiry, #status = :status, #response_data = :response_data, #validation_key = :validation_key',
        ExpressionAttributeNames: {
          '#expiry': 'expiration',
          '#status': 'status',
          '#response_data': 'data',
          '#validation_key': 'validation',
        },
        ExpressionAttributeValues: marshall({
          ':expiry': Math.round(Date.now() / 1000 + IDEMPOTENCY_TTL_SECONDS),
          ':status': 'COMPLETED',
          ':response_data': { status: 202, body: { id: message.id, status: 'queued' } },
          ':validation_key': payloadHash,
        }),
      }),
    ),
  );
  return { ms: performance.now() - started, callsMs };
}

/** Answers the benchmark's requests over IPC until it ends this process. */
function serve(): void {
  const platform = createPlatform({ source: 'api', env: process.env });
  // Its own tenant's rate window: the API's requests and these rounds each count against their own
  // limit, so neither side's calls push the other past it.
  const rateTenantId = newId('tenant');
  const reply = (message: BareAcceptReply) => process.send?.(message);
  let target: AcceptTarget | undefined;
  process.on('message', (request: BareAcceptRequest) => {
    const handle = async (): Promise<BareAcceptReply> => {
      if (request.type === 'prepare') {
        target = request.target;
        return { type: 'prepared' };
      }
      if (!target) throw new Error('round before prepare');
      return { type: 'done', ...(await round(platform, rateTenantId, target)) };
    };
    handle().then(reply, (error: unknown) =>
      reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
    );
  });
  reply({ type: 'ready' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve();
