// A DynamoDB table with the platform's defaults: on-demand, point-in-time recovery, encryption at
// rest, deletion protection and RETAIN (a stack update must never drop data), TTL for expiring items.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { RuntimeConsumer, RuntimeEnvironmentKey } from '../runtime-environment.ts';

export interface SecureTableProps {
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Epoch-seconds attribute DynamoDB deletes expired items by. */
  readonly timeToLiveAttribute: string;
  /** String-keyed GSIs; each projects all attributes unless it says `keysOnly`. */
  readonly globalSecondaryIndexes?: readonly SecureTableIndex[];
  /** A customer-managed key; without one, the AWS-managed `aws/dynamodb` key. */
  readonly encryptionKey?: IKey;
  /** The variable that carries the table's name to its consumers. */
  readonly environmentKey: RuntimeEnvironmentKey;
}

// Item access only: no Scan (on the platform table it would read across tenants; nothing of ours
// scans) and no control-plane calls such as DescribeTable.
const READ_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
];
const WRITE_ACTIONS = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];
const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
// What `kms:GenerateDataKey*` and `kms:ReEncrypt*` would cover for a symmetric key, spelled out: no
// wildcard actions in a policy (cdk-nag IAM5), and none of the key-pair variants DynamoDB never uses.
const KEY_WRITE_ACTIONS = [
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/** What `bindItemAccess` may grant: single-item reads and writes and key-range queries, no delete. */
export type ItemAction = 'dynamodb:GetItem' | 'dynamodb:Query' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem';

export interface SecureTableIndex {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /**
   * Only the table's and the index's keys: each write to the index costs one small entry, not a copy
   * of the item (for an index whose readers fetch the item itself).
   */
  readonly keysOnly?: boolean;
}

export class SecureTable extends Construct {
  readonly table: Table;
  readonly environmentKey: RuntimeEnvironmentKey;
  private readonly encryptionKey: IKey | undefined;
  private readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string, props: SecureTableProps) {
    super(scope, id);
    this.environmentKey = props.environmentKey;
    this.encryptionKey = props.encryptionKey;
    this.indexNames = (props.globalSecondaryIndexes ?? []).map((index) => index.name);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: props.partitionKey, type: AttributeType.STRING },
      ...(props.sortKey ? { sortKey: { name: props.sortKey, type: AttributeType.STRING } } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute: props.timeToLiveAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of props.globalSecondaryIndexes ?? []) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: index.keysOnly ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  bindReadWrite(consumer: RuntimeConsumer): void {
    this.grant(consumer, [...READ_ACTIONS, ...WRITE_ACTIONS], [...KEY_READ_ACTIONS, ...KEY_WRITE_ACTIONS]);
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  bindRead(consumer: RuntimeConsumer): void {
    this.grant(consumer, READ_ACTIONS, KEY_READ_ACTIONS);
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  /**
   * `GetItem` on the table and nothing else (no query, no batch, no index): for a consumer that only
   * reads items by their full key, such as the API's authorizer (an API key's item, its tenant's).
   */
  bindGetItem(consumer: RuntimeConsumer): void {
    this.grant(consumer, ['dynamodb:GetItem'], KEY_READ_ACTIONS, { indexes: false });
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  /**
   * As far as DynamoDB's IAM goes for a consumer that adds items of its own kind and reads a few
   * attributes of others, by their full key (the event recorder): `PutItem` of items made only of
   * the `put` attributes, `GetItem` returning only the `get` ones (`dynamodb:Attributes`, with
   * `dynamodb:Select` = `SPECIFIC_ATTRIBUTES`: a read without a projection is refused), no old item
   * returned by a put, only tenant partitions (`dynamodb:LeadingKeys`). No query, update, delete,
   * batch or index. IAM has no condition on the sort key, so it cannot stop such a put from landing
   * on another kind of item's key: the consumer's puts are conditional on the item not existing.
   */
  bindAttributeAccess(
    consumer: RuntimeConsumer,
    attributes: { readonly put: readonly string[]; readonly get: readonly string[] },
  ): void {
    const partitions = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TENANT#*'] } };
    Grant.addToPrincipal({
      grantee: consumer,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        ...partitions,
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...new Set(attributes.put)].sort() },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      },
    });
    Grant.addToPrincipal({
      grantee: consumer,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
      conditions: {
        ...partitions,
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...new Set(attributes.get)].sort() },
        StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      },
    });
    if (this.encryptionKey)
      throw new Error('bindAttributeAccess: a customer-managed key is not granted here');
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  /**
   * Only the item actions named, on the table itself (no index), in tenant partitions only
   * (`dynamodb:LeadingKeys` `TENANT#*`): for a consumer whose code reads and writes whole items by
   * key or by a key range, so attribute conditions cannot apply (they need projections on every read
   * and no `ALL_NEW`/`ALL_OLD` return values), but which never deletes, batches, scans or uses an index
   * (the webhook dispatcher).
   */
  bindItemAccess(consumer: RuntimeConsumer, actions: readonly ItemAction[]): void {
    Grant.addToPrincipal({
      grantee: consumer,
      actions: [...new Set(actions)].sort(),
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TENANT#*'] } },
    });
    if (this.encryptionKey) throw new Error('bindItemAccess: a customer-managed key is not granted here');
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  /**
   * `Query` and nothing else, read-only, each query naming what it reads: only `attributes`
   * (`dynamodb:Attributes`) and with `Select: SPECIFIC_ATTRIBUTES` stated (`dynamodb:Select`; a
   * query without it is refused, whatever DynamoDB would default to), on the table and the `indexes`
   * named, and in `partitions` only when given (`dynamodb:LeadingKeys` patterns). For a reader of a
   * few attributes across partitions (the operator's views): whatever key it queries, it gets no
   * other attribute of any item. A customer-managed key is granted for decryption through DynamoDB
   * only, as `bindRead` grants it.
   */
  bindProjectedQuery(
    consumer: RuntimeConsumer,
    scope: {
      readonly attributes: readonly string[];
      readonly indexes?: readonly string[];
      readonly partitions?: readonly string[];
    },
  ): void {
    const unknown = (scope.indexes ?? []).filter((name) => !this.indexNames.includes(name));
    if (unknown.length > 0) throw new Error(`bindProjectedQuery: no index ${unknown.join(', ')}`);
    Grant.addToPrincipal({
      grantee: consumer,
      actions: ['dynamodb:Query'],
      resourceArns: [
        this.table.tableArn,
        ...(scope.indexes ?? []).map((name) => `${this.table.tableArn}/index/${name}`),
      ],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...new Set(scope.attributes)].sort() },
        StringEquals: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        ...(scope.partitions
          ? { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...scope.partitions] } }
          : {}),
      },
    });
    this.grantKeyUse(consumer, KEY_READ_ACTIONS);
    consumer.addEnvironment(this.environmentKey, this.tableName);
  }

  /**
   * Unlike `grantReadWriteData`, the customer-managed key is usable only through DynamoDB: the
   * consumer cannot call KMS with it directly, e.g. to decrypt without an encryption context. And the
   * indexes are named one by one rather than as `index/*`.
   */
  private grant(
    consumer: RuntimeConsumer,
    tableActions: string[],
    keyActions: string[],
    { indexes = true } = {},
  ): void {
    Grant.addToPrincipal({
      grantee: consumer,
      actions: tableActions,
      resourceArns: [
        this.table.tableArn,
        ...(indexes ? this.indexNames.map((name) => `${this.table.tableArn}/index/${name}`) : []),
      ],
    });
    this.grantKeyUse(consumer, keyActions);
  }

  /** The customer-managed key, if any, through DynamoDB only (`kms:ViaService`). */
  private grantKeyUse(consumer: RuntimeConsumer, keyActions: string[]): void {
    if (!this.encryptionKey) return;
    Grant.addToPrincipal({
      grantee: consumer,
      actions: keyActions,
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}
