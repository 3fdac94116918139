import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ContactCheckRepository, ContactCheckResult } from '../../ports.ts';
import { contactCheckKey } from './platform-keys.ts';

/** Answers are only needed while the API request that asked waits; DynamoDB's TTL sweeps them after. */
const RESULT_TTL_SECONDS = 3600;

export class DynamoContactCheckRepository implements ContactCheckRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(tenantId: string, checkId: string, results: readonly ContactCheckResult[]): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...contactCheckKey(tenantId, checkId),
          entity: 'contactCheck',
          results,
          expiresAt: Math.ceil(this.now() / 1000) + RESULT_TTL_SECONDS,
        },
      }),
    );
  }

  async get(tenantId: string, checkId: string): Promise<ContactCheckResult[] | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: contactCheckKey(tenantId, checkId),
        ConsistentRead: true,
      }),
    );
    return (result.Item?.results as ContactCheckResult[] | undefined) ?? null;
  }
}
