import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ContactCheck, ContactCheckRepository, ContactCheckResult } from '../../ports.ts';
import { contactCheckKey } from './platform-keys.ts';

/** Answers are only needed while the API request that asked waits; DynamoDB's TTL sweeps them after. */
const RESULT_TTL_SECONDS = 3600;

export class DynamoContactCheckRepository implements ContactCheckRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async start(tenantId: string, checkId: string, channelId: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...contactCheckKey(tenantId, checkId),
          entity: 'contactCheck',
          channelId,
          expiresAt: this.expiresAt(),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async put(tenantId: string, checkId: string, results: readonly ContactCheckResult[]): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: contactCheckKey(tenantId, checkId),
        UpdateExpression: 'SET entity = :entity, results = :results, expiresAt = :expiresAt',
        ExpressionAttributeValues: {
          ':entity': 'contactCheck',
          ':results': results,
          ':expiresAt': this.expiresAt(),
        },
      }),
    );
  }

  async get(tenantId: string, checkId: string): Promise<ContactCheckResult[] | null> {
    return (await this.find(tenantId, checkId))?.results ?? null;
  }

  async find(tenantId: string, checkId: string): Promise<ContactCheck | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: contactCheckKey(tenantId, checkId),
        ConsistentRead: true,
      }),
    );
    if (!result.Item) return null;
    return {
      channelId: (result.Item.channelId as string | undefined) ?? null,
      results: (result.Item.results as ContactCheckResult[] | undefined) ?? null,
    };
  }

  private expiresAt(): number {
    return Math.ceil(this.now() / 1000) + RESULT_TTL_SECONDS;
  }
}
