import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { SessionTable, type SessionWrite, WriteConditionError } from '#runner/auth/session-table.ts';
import { type Fence, StaleFenceError } from '#shared/domain/fence.ts';

const fence: Fence = { shard: 3, owner: 'runner-a', token: 7 };

function cancelled(...codes: string[]) {
  return new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

/** A client whose TransactWriteItems calls answer from `outcomes` in turn (undefined: success). */
function scriptedClient(outcomes: (Error | undefined)[]) {
  const sent: { TransactItems: Record<string, { Key?: unknown; Item?: { sk: string } }>[] }[] = [];
  const client = {
    send: async (command: { input: (typeof sent)[number] }) => {
      sent.push(command.input);
      const outcome = outcomes.shift();
      if (outcome) throw outcome;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, sent };
}

const puts = (count: number, bytes = 10): SessionWrite[] =>
  Array.from({ length: count }, (_, index) => ({
    put: { pk: 'P', sk: `KEY#${index}`, v: Buffer.alloc(bytes) },
  }));

describe('fenced session writes', () => {
  it('puts the fence check first in every transaction and keeps each under 100 items', async () => {
    const { client, sent } = scriptedClient([]);
    const table = new SessionTable(client, 'sessions');
    expect(await table.write(fence, puts(250))).toBe(3);
    expect(sent.map((input) => input.TransactItems.length)).toEqual([100, 100, 53]);
    for (const input of sent) {
      expect(input.TransactItems[0]).toEqual({
        ConditionCheck: expect.objectContaining({ Key: { pk: 'LEASE#main#3', sk: 'LEASE' } }),
      });
    }
  });

  it('keeps each transaction under AWS’s 4 MB request size', async () => {
    const { client, sent } = scriptedClient([]);
    await new SessionTable(client, 'sessions').write(fence, puts(12, 340 * 1024));
    expect(sent.map((input) => input.TransactItems.length - 1)).toEqual([10, 2]);
  });

  it('throws StaleFenceError when the fence check is what cancelled the transaction', async () => {
    const { client, sent } = scriptedClient([cancelled('ConditionalCheckFailed', 'None')]);
    await expect(new SessionTable(client, 'sessions').write(fence, puts(2))).rejects.toEqual(
      new StaleFenceError(fence),
    );
    expect(sent).toHaveLength(1);
  });

  it('names the item whose own condition failed', async () => {
    const { client } = scriptedClient([cancelled('None', 'None', 'ConditionalCheckFailed')]);
    const error = await new SessionTable(client, 'sessions').write(fence, puts(2)).catch((caught) => caught);
    expect(error).toBeInstanceOf(WriteConditionError);
    expect(error.key.sk).toBe('KEY#1');
  });

  it('retries conflicts with other transactions on the shard’s lease item, then gives up', async () => {
    const conflict = () => cancelled('TransactionConflict', 'None');
    const retried = scriptedClient([conflict(), conflict()]);
    await new SessionTable(retried.client, 'sessions', { baseDelayMs: 1 }).write(fence, puts(1));
    expect(retried.sent).toHaveLength(3);

    const exhausted = scriptedClient([conflict(), conflict(), conflict()]);
    await expect(
      new SessionTable(exhausted.client, 'sessions', { baseDelayMs: 1, maxAttempts: 3 }).write(
        fence,
        puts(1),
      ),
    ).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(exhausted.sent).toHaveLength(3);
  });
});

describe('transaction concurrency limit', () => {
  it('keeps at most the limit of transactions in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const client = {
      send: async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const table = new SessionTable(client, 'sessions', { transactionConcurrency: 2 });
    await Promise.all(Array.from({ length: 8 }, () => table.write(fence, puts(1))));
    expect(most).toBe(2);
  });
});
