// Builds the session store against the emulator, with DynamoDB and KMS calls counted per operation,
// and a shard lease of a private runner cluster for fencing.
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SessionStore } from '#runner/auth/session-store.ts';
import { LeaseTable } from '#runner/leases/lease-table.ts';
import { createDynamoClient, createKmsClient } from '#shared/aws/clients.ts';
import { leaseKey } from '#shared/aws/dynamo/fence-check.ts';
import { loadAwsConfig, loadResourceConfig } from '#shared/config.ts';
import type { Fence } from '#shared/domain/fence.ts';
import { newId } from '#shared/domain/ids.ts';
import { emulatorEnvironment } from '../support/platform.ts';

export type CallCounts = Map<string, number>;

function record(counts: CallCounts, commandName: unknown): void {
  const name = String(commandName ?? 'unknown').replace(/Command$/, '');
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

// After the retry middleware: an SDK retry counts as a request too.
const COUNT_STEP = { step: 'finalizeRequest', name: 'countCalls' } as const;

export function authHarness() {
  const env = emulatorEnvironment();
  process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
  const aws = loadAwsConfig(env);
  const resources = loadResourceConfig(env);
  const dynamo = createDynamoClient(aws);
  const kms = createKmsClient(aws);
  const calls: CallCounts = new Map();
  dynamo.middlewareStack.add(
    (next, context) => (args) => {
      record(calls, context.commandName);
      return next(args);
    },
    COUNT_STEP,
  );
  kms.middlewareStack.add(
    (next, context) => (args) => {
      record(calls, context.commandName);
      return next(args);
    },
    COUNT_STEP,
  );
  const tableName = resources.sessionsTable;
  // One transaction at a time: moto's TransactWriteItems is not safe against concurrent writes.
  const newStore = () =>
    new SessionStore({ dynamo, kms, tableName, keyArn: resources.sessionKeyArn, transactionConcurrency: 1 });

  return {
    dynamo,
    kms,
    tableName,
    keyArn: resources.sessionKeyArn,
    calls,
    newStore,
    /** Counts from now on. */
    resetCalls: () => calls.clear(),
    callsOf: (name: string) => calls.get(name) ?? 0,
    newChannel: () => ({ tenantId: newId('tenant'), channelId: newId('channel') }),
    /** A lease of shard 0 in a cluster of its own, held by `owner`. */
    async newFence(owner = 'runner-a'): Promise<Fence> {
      const fence = await new LeaseTable(dynamo, tableName, crypto.randomUUID()).acquire(
        0,
        owner,
        Date.now(),
        600_000,
      );
      if (!fence) throw new Error('no lease');
      return fence;
    },
    /** What a takeover does to the lease item: a new owner with the next token. */
    async takeOver(fence: Fence): Promise<void> {
      await dynamo.send(
        new UpdateCommand({
          TableName: tableName,
          Key: leaseKey(fence.shard, fence.cluster),
          UpdateExpression: 'SET #owner = :owner, #token = #token + :one',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: { ':owner': 'runner-b', ':one': 1 },
        }),
      );
    },
    async scanTable(): Promise<Record<string, unknown>[]> {
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.send(
          new ScanCommand({ TableName: tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
  };
}
