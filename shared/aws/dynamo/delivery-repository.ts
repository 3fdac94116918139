import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { encodeTime } from 'ulid';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import type { PlatformEvent } from '../../domain/events.ts';
import type { Page, PageRequest } from '../../domain/pagination.ts';
import {
  type Delivery,
  type DeliveryAttempt,
  type DeliveryStatus,
  deliveryExpiry,
  isDeliveryId,
  MAX_ATTEMPTS_KEPT,
  storedEventOf,
} from '../../domain/webhook.ts';
import type { DeliveryCreateOptions, DeliveryFilter, DeliveryRepository, DeliveryTry } from '../../ports.ts';
import { conditionally } from './conditional-write.ts';
import { decodeCursor, invalidCursor } from './cursor.ts';
import { deliveryKey, SK_PREFIX, tenantPartition } from './platform-keys.ts';
import { type Item, queryPage } from './query-page.ts';

// Deliveries of a webhook, in its tenant's partition under `DLV#<webhookId>#<deliveryId>`. A
// delivery id begins with its event's ULID, so the key order is the events' order: the newest-first
// list reads the key range backwards and `since` is where the range starts. Each item expires
// (DynamoDB TTL on `expiresAt`) DELIVERY_RETENTION_DAYS after it was created, or when its tenant's
// retention of the event ends if sooner (`deliveryExpiry`); a reopen never extends it.
//
// A delivery of a QR or a pairing code is stored without the secret (`storedEventOf`).
//
// Every write bumps `revision`, an attribute of the item only: recording a try reads the delivery,
// appends the try to the latest MAX_ATTEMPTS_KEPT and writes back on condition that nothing else
// wrote in between (DynamoDB cannot append to a list and drop its head in one update expression).

/** Read-and-write rounds of `recordAttempt` before it gives up on a delivery written that often. */
const MAX_RECORD_ROUNDS = 5;
/** Above every character of a delivery id: the top of a webhook's key range. */
const KEY_RANGE_TOP = '~';
/** The latest time a ULID can hold (2^48 - 1 ms, in the year 10889). */
const MAX_ULID_TIME = 2 ** 48 - 1;

export class DynamoDeliveryRepository implements DeliveryRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: { readonly now?: () => Date } = {},
  ) {}

  async create(delivery: Delivery, options: DeliveryCreateOptions = {}): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id),
            entity: 'delivery',
            ...delivery,
            event: storedEventOf(delivery.event),
            attempts: delivery.attempts.slice(-MAX_ATTEMPTS_KEPT),
            revision: 1,
            expiresAt: deliveryExpiry(delivery, options.retentionDays),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | null> {
    const item = await this.read(tenantId, webhookId, deliveryId);
    return item ? toDelivery(item) : null;
  }

  async list(
    tenantId: string,
    webhookId: string,
    request: PageRequest & DeliveryFilter,
  ): Promise<Page<Delivery>> {
    const pk = tenantPartition(tenantId);
    const prefix = SK_PREFIX.deliveriesOf(webhookId);
    const from = request.since === undefined ? undefined : `${prefix}dlv_${timePrefix(request.since)}`;
    const to = `${prefix}${KEY_RANGE_TOP}`;
    if (request.cursor !== undefined) {
      // A cursor is the last key handed out: a delivery key of this webhook, or not one of ours
      // (400, never a key DynamoDB would refuse as outside the query's range: a 5xx).
      const cursor = decodeCursor(request.cursor, {
        partition: { pk },
        keyAttributes: ['pk', 'sk'],
        sortKeyPrefix: prefix,
      });
      const sk = cursor.sk as string;
      if (!isDeliveryId(sk.slice(prefix.length)) || sk > to) throw invalidCursor();
      // Read backwards, one below where the range starts has nothing left in it (a cursor of the
      // unfiltered list already past `since`).
      if (from !== undefined && sk < from) return { items: [], nextCursor: null };
    }
    const status = request.status === undefined ? {} : { ':status': request.status };
    return queryPage(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression:
          from === undefined
            ? 'pk = :pk AND begins_with(sk, :prefix)'
            : 'pk = :pk AND sk BETWEEN :from AND :to',
        ...(request.status === undefined
          ? {}
          : { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } }),
        ExpressionAttributeValues: {
          ':pk': pk,
          ...(from === undefined ? { ':prefix': prefix } : { ':from': from, ':to': to }),
          ...status,
        },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      request,
      { pk },
      ['pk', 'sk'],
      toDelivery,
      prefix,
    );
  }

  async recordAttempt(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    attempt: DeliveryAttempt,
    next: { status: DeliveryStatus; nextAttemptAt: string | null },
    expected?: DeliveryTry,
  ): Promise<Delivery> {
    for (let round = 0; round < MAX_RECORD_ROUNDS; round++) {
      const current = await this.read(tenantId, webhookId, deliveryId);
      if (!current) throw new NotFoundError('delivery', deliveryId);
      if (expected && !atTry(current, expected)) throw movedOn(deliveryId);
      const attempts = [...((current.attempts as DeliveryAttempt[] | undefined) ?? []), attempt].slice(
        -MAX_ATTEMPTS_KEPT,
      );
      try {
        const result = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: deliveryKey(tenantId, webhookId, deliveryId),
            UpdateExpression:
              'SET attempts = :attempts, attemptCount = attemptCount + :one, ' +
              'roundAttemptCount = if_not_exists(roundAttemptCount, :zero) + :one, #status = :status, ' +
              'nextAttemptAt = :next, updatedAt = :now, revision = revision + :one REMOVE claimedUntil',
            // The revision read: nothing else wrote since, so the try expected is still the current one.
            ConditionExpression: 'revision = :revision',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':attempts': attempts,
              ':zero': 0,
              ':one': 1,
              ':status': next.status,
              ':next': next.nextAttemptAt,
              ':now': this.now(),
              ':revision': current.revision,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toDelivery(result.Attributes as Item);
      } catch (error) {
        // Written (or deleted by its TTL) since it was read: read it again, after a moment.
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (round + 1)));
      }
    }
    throw new ConflictError(
      'delivery_busy',
      `Delivery ${deliveryId} kept changing while a try was being recorded`,
    );
  }

  async claimTry(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    expected: DeliveryTry,
    at: string,
    until: string,
  ): Promise<{ claimed: true; delivery: Delivery } | { claimed: false; delivery: Delivery | null }> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: deliveryKey(tenantId, webhookId, deliveryId),
          UpdateExpression: 'SET claimedUntil = :until, revision = revision + :one',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :pending AND attemptCount = :count AND ' +
            (expected.generation === 0
              ? '(attribute_not_exists(generation) OR generation = :generation)'
              : 'generation = :generation') +
            ' AND (attribute_not_exists(claimedUntil) OR claimedUntil = :null OR claimedUntil <= :at)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':until': until,
            ':one': 1,
            ':pending': 'pending',
            ':count': expected.attemptCount,
            ':generation': expected.generation,
            ':null': null,
            ':at': at,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, delivery: toDelivery(result.Attributes as Item) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { claimed: false, delivery: error.Item ? toDelivery(unmarshall(error.Item) as Item) : null };
    }
  }

  async reopen(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    at: string,
    options: { onlyFrom?: DeliveryStatus } = {},
  ): Promise<Delivery> {
    const onlyFrom = options.onlyFrom === undefined ? {} : { ':from': options.onlyFrom };
    const result = await conditionally(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: deliveryKey(tenantId, webhookId, deliveryId),
            UpdateExpression:
              'SET #status = :pending, nextAttemptAt = :at, updatedAt = :at, roundAttemptCount = :zero, ' +
              'generation = if_not_exists(generation, :zero) + :one, revision = revision + :one ' +
              'REMOVE claimedUntil',
            ConditionExpression:
              options.onlyFrom === undefined
                ? 'attribute_exists(pk)'
                : 'attribute_exists(pk) AND #status = :from',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':pending': 'pending',
              ':at': at,
              ':zero': 0,
              ':one': 1,
              ...onlyFrom,
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (current) =>
        current
          ? new ConflictError(
              `delivery_not_${options.onlyFrom}`,
              `Delivery ${deliveryId} is ${String(current.status)}, not ${options.onlyFrom}`,
            )
          : new NotFoundError('delivery', deliveryId),
    );
    return toDelivery(result.Attributes as Item);
  }

  private async read(tenantId: string, webhookId: string, deliveryId: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: deliveryKey(tenantId, webhookId, deliveryId),
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }
}

/** The first characters of the ids of events made at or after `since` (an ISO-8601 instant). */
function timePrefix(since: string): string {
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    const message = 'since must be an ISO-8601 instant';
    throw new ValidationError(message, [{ field: 'since', message }]);
  }
  return encodeTime(Math.min(Math.max(0, at), MAX_ULID_TIME), 10);
}

/** Whether the delivery is still at the try `expected` (no try recorded, no reopen since). */
function atTry(item: Item, expected: DeliveryTry): boolean {
  return (
    item.attemptCount === expected.attemptCount &&
    ((item.generation as number | undefined) ?? 0) === expected.generation
  );
}

function movedOn(deliveryId: string): ConflictError {
  return new ConflictError(
    'delivery_moved_on',
    `Delivery ${deliveryId} was tried or reopened since this try was claimed: the try is not recorded`,
  );
}

function toDelivery(item: Item): Delivery {
  return {
    id: item.id as string,
    tenantId: item.tenantId as string,
    webhookId: item.webhookId as string,
    event: item.event as PlatformEvent,
    status: item.status as DeliveryStatus,
    attemptCount: item.attemptCount as number,
    roundAttemptCount: (item.roundAttemptCount as number | undefined) ?? 0,
    generation: (item.generation as number | undefined) ?? 0,
    claimedUntil: (item.claimedUntil as string | null | undefined) ?? null,
    attempts: (item.attempts as DeliveryAttempt[] | undefined) ?? [],
    nextAttemptAt: (item.nextAttemptAt as string | null | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
