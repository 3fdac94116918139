import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type LocalSecondaryIndex,
  type TableDescription,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { NAME_RULES, physicalName } from './physical-names.ts';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

interface SseSpecification {
  SSEEnabled?: boolean;
  SSEType?: 'KMS';
  KMSMasterKeyId?: string;
}

export const dynamoDbTable: ResourceHandler = {
  properties: [
    'TableName',
    'AttributeDefinitions',
    'KeySchema',
    'BillingMode',
    'ProvisionedThroughput',
    'GlobalSecondaryIndexes',
    'LocalSecondaryIndexes',
    'StreamSpecification',
    'SSESpecification',
    'TimeToLiveSpecification',
    'PointInTimeRecoverySpecification',
    'DeletionProtectionEnabled',
    'TableClass',
    'Tags', // not emulated: nothing local reads them
  ],
  async create({ logicalId, properties, context }) {
    const { dynamodb } = context.clients;
    const tableName =
      optionalString(properties, 'TableName') ?? physicalName(context.stackName, logicalId, NAME_RULES.table);
    const sse = properties.SSESpecification as SseSpecification | undefined;
    const stream = properties.StreamSpecification as { StreamViewType: 'NEW_IMAGE' } | undefined;
    let table: TableDescription | undefined;
    let created = false;
    try {
      const result = await dynamodb.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
          KeySchema: properties.KeySchema as KeySchemaElement[],
          BillingMode: (properties.BillingMode as 'PAY_PER_REQUEST' | undefined) ?? 'PROVISIONED',
          ProvisionedThroughput: properties.ProvisionedThroughput as never,
          GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined,
          LocalSecondaryIndexes: properties.LocalSecondaryIndexes as LocalSecondaryIndex[] | undefined,
          StreamSpecification: stream
            ? { StreamEnabled: true, StreamViewType: stream.StreamViewType }
            : undefined,
          SSESpecification: sse
            ? { Enabled: sse.SSEEnabled, SSEType: sse.SSEType, KMSMasterKeyId: sse.KMSMasterKeyId }
            : undefined,
          DeletionProtectionEnabled: properties.DeletionProtectionEnabled as boolean | undefined,
          TableClass: properties.TableClass as 'STANDARD' | undefined,
        }),
      );
      table = result.TableDescription;
      created = true;
    } catch (error) {
      // An emulator that kept its state (`npm start`'s saved moto state, LocalStack) still has it
      // from an earlier run: keep it, with its items.
      if (!isAwsError(error, 'ResourceInUseException')) throw error;
    }
    table = await waitUntilActive(context.clients.dynamodb, tableName, table);
    if (!created) table = await matchTemplate(dynamodb, table, properties);

    const ttl = properties.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
    const pitr = properties.PointInTimeRecoverySpecification as
      | { PointInTimeRecoveryEnabled?: boolean }
      | undefined;
    await Promise.all([
      ttl?.Enabled &&
        dynamodb
          .send(
            new UpdateTimeToLiveCommand({
              TableName: tableName,
              TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
            }),
          )
          .catch((error: unknown) => {
            // Re-runs on a persistent emulator: TTL already on.
            if (!(isAwsError(error, 'ValidationException') && /already enabled/i.test(String(error))))
              throw error;
          }),
      pitr?.PointInTimeRecoveryEnabled &&
        dynamodb.send(
          new UpdateContinuousBackupsCommand({
            TableName: tableName,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ),
    ]);
    const arn =
      table.TableArn ?? `arn:aws:dynamodb:${context.region}:${context.accountId}:table/${tableName}`;
    return {
      physicalId: tableName,
      ref: tableName,
      attributes: { Arn: arn, ...(table.LatestStreamArn ? { StreamArn: table.LatestStreamArn } : {}) },
    };
  },
};

/**
 * A kept table against the template: a changed primary key cannot be applied in place (start from
 * empty state); an index the template added is created (moto indexes the items it has at once), and
 * one it dropped is left, unused.
 */
async function matchTemplate(
  dynamodb: DynamoDBClient,
  table: TableDescription,
  properties: Readonly<Record<string, unknown>>,
): Promise<TableDescription> {
  const keyOf = (schema: readonly KeySchemaElement[] | undefined) =>
    (schema ?? []).map((element) => `${element.AttributeName}:${element.KeyType}`).join(',');
  const wanted = keyOf(properties.KeySchema as KeySchemaElement[]);
  if (keyOf(table.KeySchema) !== wanted) {
    throw new Error(
      `table ${table.TableName} exists with the key ${keyOf(table.KeySchema)}, the template wants ${wanted}: ` +
        'start from empty state (npm start -- --fresh, or LOCAL_FRESH=true)',
    );
  }
  const existing = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = ((properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined) ?? []).filter(
    (index) => !existing.has(index.IndexName),
  );
  let current = table;
  // One index per UpdateTable, as DynamoDB allows.
  for (const index of missing) {
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: table.TableName,
        AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    current = await waitUntilActive(dynamodb, String(table.TableName), undefined);
  }
  return current;
}

async function waitUntilActive(
  dynamodb: DynamoDBClient,
  tableName: string,
  created: TableDescription | undefined,
): Promise<TableDescription> {
  let table = created;
  const deadline = Date.now() + 60_000;
  while (table?.TableStatus !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE`);
    if (table) await new Promise((resolve) => setTimeout(resolve, 200));
    table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  }
  return table;
}
