// A send's claim on a tenant's Idempotency-Key, written with its queued message in one transaction.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { sendClaimKey } from '#shared/aws/dynamo/platform-keys.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import { SEND_CLAIM_TTL_SECONDS, type SendClaim } from '#shared/domain/send-claim.ts';
import { queuedOutbound } from './support/messages.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();
const { messages } = platform;

const ISSUED_AT = '2026-11-29T10:00:00.000Z';
const issuedSeconds = Date.parse(ISSUED_AT) / 1000;

function claimOf(message: Message, overrides: Partial<SendClaim> = {}): SendClaim {
  return {
    tenantId: message.tenantId,
    requestKey: 'pedido-0001',
    requestDigest: 'digest-a',
    channelId: message.channelId,
    messageId: message.id,
    commandId: newId('command'),
    issuedAt: ISSUED_AT,
    expiresAt: issuedSeconds + SEND_CLAIM_TTL_SECONDS,
    ...overrides,
  };
}

const stored = (message: Message) => messages.get(message.tenantId, message.channelId, message.id);

describe('send claims', () => {
  it('writes a message with its claim once; a second send under the key writes nothing and gets the first claim', async () => {
    const first = queuedOutbound();
    const claim = claimOf(first);
    expect(await messages.putQueuedOnce(first, claim)).toEqual(claim);
    expect(await stored(first)).toEqual(first);

    const second = queuedOutbound(first.tenantId, first.channelId);
    const again = claimOf(second, { requestDigest: 'digest-b' });
    expect(await messages.putQueuedOnce(second, again)).toEqual(claim);
    expect(await stored(second)).toBeNull();
    expect(
      await messages.resolveWaMessageId(second.tenantId, second.channelId, second.waMessageId),
    ).toBeNull();
    expect(await messages.getSendClaim(first.tenantId, claim.requestKey, new Date(ISSUED_AT))).toEqual(claim);

    // The claim item: in the tenant's partition under the key's digest, expiring through the table's TTL.
    const item = await platform.client.send(
      new GetCommand({
        TableName: platform.resources.platformTable,
        Key: sendClaimKey(first.tenantId, claim.requestKey),
      }),
    );
    expect(item.Item?.sk).toMatch(/^SEND_REQUEST#[0-9a-f]{64}$/);
    expect(item.Item?.expiresAt).toBe(issuedSeconds + 25 * 3600);
    expect(JSON.stringify(item.Item)).not.toContain(claim.requestKey);
  });

  it('keeps tenants apart: the same key string claims a send in each', async () => {
    const ofA = queuedOutbound();
    const ofB = queuedOutbound();
    const claimA = claimOf(ofA);
    const claimB = claimOf(ofB);
    expect(await messages.putQueuedOnce(ofA, claimA)).toEqual(claimA);
    expect(await messages.putQueuedOnce(ofB, claimB)).toEqual(claimB);
    expect(await stored(ofB)).toEqual(ofB);
    expect(await messages.getSendClaim(ofB.tenantId, 'pedido-0001', new Date(ISSUED_AT))).toEqual(claimB);
    expect(await messages.getSendClaim(newId('tenant'), 'pedido-0001', new Date(ISSUED_AT))).toBeNull();
  });

  it('treats a claim past its expiry as absent, before DynamoDB’s TTL removes it', async () => {
    const first = queuedOutbound();
    const claim = claimOf(first);
    await messages.putQueuedOnce(first, claim);
    const lapsed = new Date((claim.expiresAt + 1) * 1000);
    expect(await messages.getSendClaim(first.tenantId, claim.requestKey, lapsed)).toBeNull();

    const later = queuedOutbound(first.tenantId, first.channelId);
    const fresh = claimOf(later, {
      issuedAt: lapsed.toISOString(),
      expiresAt: claim.expiresAt + 1 + SEND_CLAIM_TTL_SECONDS,
    });
    expect(await messages.putQueuedOnce(later, fresh)).toEqual(fresh);
    expect(await stored(later)).toEqual(later);
  });

  it('fails a queued claimed send and releases its key in one write, but not once it left queued', async () => {
    const failure = {
      status: 'failed' as const,
      at: '2026-11-29T10:00:01.000Z',
      error: { code: 'not_queued', message: 'The message could not be queued for sending' },
    };
    const first = queuedOutbound();
    const claim = claimOf(first);
    await messages.putQueuedOnce(first, claim);
    expect(await messages.failQueuedAndReleaseClaim(claim, failure)).toBe(true);
    expect((await stored(first))?.statusHistory.at(-1)).toEqual(failure);
    expect(await messages.getSendClaim(first.tenantId, claim.requestKey, new Date(ISSUED_AT))).toBeNull();

    // Released: the key claims a new send.
    const retried = queuedOutbound(first.tenantId, first.channelId);
    const again = claimOf(retried);
    expect(await messages.putQueuedOnce(retried, again)).toEqual(again);
    await messages.advanceStatus(retried.tenantId, retried.channelId, retried.id, {
      status: 'sent',
      at: '2026-11-29T10:00:02.000Z',
    });
    // Sent meanwhile (its command was queued after all): nothing changes, the claim stays.
    expect(await messages.failQueuedAndReleaseClaim(again, failure)).toBe(false);
    expect((await stored(retried))?.status).toBe('sent');
    expect(await messages.getSendClaim(first.tenantId, again.requestKey, new Date(ISSUED_AT))).toEqual(again);
  });
});
