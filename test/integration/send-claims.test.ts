// A send's claim on a tenant's Idempotency-Key, written with its queued message in one transaction,
// and the use case re-executed under one key as Powertools would let it after a timeout.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { sendClaimKey } from '#shared/aws/dynamo/platform-keys.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { errorResponse } from '#shared/domain/error-body.ts';
import { ConflictError, idempotencyKeyReused } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Message } from '#shared/domain/message.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import { SEND_CLAIM_TTL_SECONDS, type SendClaim } from '#shared/domain/send-claim.ts';
import type { CommandBus } from '#shared/ports.ts';
import { createChannel } from '#shared/use-cases/channels.ts';
import { sendMessage } from '#shared/use-cases/messages.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { partitionChanges, snapshotPartition } from './api/support/partition-snapshot.ts';
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

/** A command bus that keeps what it is given, and fails while `failing` is set. */
class RecordingBus implements CommandBus {
  readonly sent: ChannelCommand[] = [];
  failing = false;

  async send(command: ChannelCommand): Promise<void> {
    if (this.failing) throw new Error('SQS is unavailable');
    this.sent.push(command);
  }
}

describe('sendMessage under a request key (a re-execution, Powertools bypassed)', () => {
  const text = (body: string): OutboundMessage => ({ to: '+5511987654321', type: 'text', text: { body } });

  async function clinic() {
    const commands = new RecordingBus();
    const deps = { ...platform, commands, shardCount: 4 };
    const tenant = await createTenant(platform, { name: 'Clínica Chave' });
    const channel = await createChannel(deps, tenant.id, { name: 'Recepção' });
    await platform.channels.transition(tenant.id, channel.id, {
      from: 'disconnected',
      expectedVersion: channel.version,
      to: 'connecting',
      at: new Date().toISOString(),
    });
    const partition = () =>
      snapshotPartition(platform.client, platform.resources.platformTable, tenant.id).then(
        (items) => new Map([...items].filter(([sk]) => !sk.startsWith('CHANNEL#'))),
      );
    return { deps, commands, tenantId: tenant.id, channelId: channel.id, partition };
  }

  it('gives the same message and command again, and writes one record', async () => {
    const { deps, commands, tenantId, channelId, partition } = await clinic();
    const first = await sendMessage(deps, tenantId, channelId, text('Sua consulta é amanhã.'), {
      requestKey: 'pedido-0001',
    });
    const written = await partition();
    const again = await sendMessage(deps, tenantId, channelId, text('Sua consulta é amanhã.'), {
      requestKey: 'pedido-0001',
    });

    expect(again.id).toBe(first.id);
    expect(again).toEqual(first);
    expect(partitionChanges(written, await partition())).toEqual([]);
    expect([...written.keys()].filter((sk) => sk.startsWith('MSG#'))).toEqual([
      `MSG#${channelId}#${first.id}`,
    ]);
    // The command again with the same ids: SQS's deduplication (or the runner) drops the copy.
    expect(commands.sent).toHaveLength(2);
    expect(commands.sent[1]).toEqual(commands.sent[0]);
    expect(commands.sent[0]).toMatchObject({ type: 'send', messageId: first.id });
  });

  it('answers another request under the key with 409 idempotency_key_reused, writing nothing', async () => {
    const { deps, commands, tenantId, channelId, partition } = await clinic();
    await sendMessage(deps, tenantId, channelId, text('Sua consulta é amanhã.'), {
      requestKey: 'pedido-0002',
    });
    const written = await partition();

    const other = sendMessage(deps, tenantId, channelId, text('Sua consulta foi cancelada.'), {
      requestKey: 'pedido-0002',
    });
    await expect(other).rejects.toBeInstanceOf(ConflictError);
    await expect(other).rejects.toMatchObject(idempotencyKeyReused());
    expect(errorResponse(await other.catch((error: unknown) => error), 'req-1')).toEqual(
      errorResponse(idempotencyKeyReused(), 'req-1'),
    );
    expect(partitionChanges(written, await partition())).toEqual([]);
    expect(commands.sent).toHaveLength(1);
  });

  it('does not let one tenant’s key answer for another’s', async () => {
    const a = await clinic();
    const b = await clinic();
    const ofA = await sendMessage(a.deps, a.tenantId, a.channelId, text('Olá'), {
      requestKey: 'pedido-0003',
    });
    const ofB = await sendMessage(b.deps, b.tenantId, b.channelId, text('Olá'), {
      requestKey: 'pedido-0003',
    });
    expect(ofB.id).not.toBe(ofA.id);
    expect(ofB.tenantId).toBe(b.tenantId);
    expect(await platform.messages.get(b.tenantId, b.channelId, ofB.id)).toEqual(ofB);
    // Another body under B's key is refused by B's claim, not A's.
    await expect(
      sendMessage(b.deps, b.tenantId, b.channelId, text('Outro'), { requestKey: 'pedido-0003' }),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('answers a re-execution as the first run did after the channel was disconnected', async () => {
    const { deps, commands, tenantId, channelId } = await clinic();
    const first = await sendMessage(deps, tenantId, channelId, text('Lembrete'), {
      requestKey: 'pedido-0004',
    });
    const channel = await platform.channels.get(tenantId, channelId);
    await platform.channels.transition(tenantId, channelId, {
      from: 'connecting',
      expectedVersion: channel?.version ?? 0,
      to: 'disconnected',
      at: new Date().toISOString(),
    });
    const again = await sendMessage(deps, tenantId, channelId, text('Lembrete'), {
      requestKey: 'pedido-0004',
    });
    expect(again.id).toBe(first.id);
    // Still queued: the command goes again, and the runner fails it as not connected.
    expect(commands.sent.map((command) => command.commandId)).toEqual([
      commands.sent[0]?.commandId,
      commands.sent[0]?.commandId,
    ]);
    await expect(
      sendMessage(deps, tenantId, channelId, text('Outro'), { requestKey: 'pedido-0004' }),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    // Without a claim the channel's own answer stands.
    await expect(
      sendMessage(deps, tenantId, channelId, text('Lembrete'), { requestKey: 'pedido-0005' }),
    ).rejects.toMatchObject({ code: 'channel_not_connected' });
  });

  it('does not issue the command again once the message left queued', async () => {
    const { deps, commands, tenantId, channelId } = await clinic();
    const first = await sendMessage(deps, tenantId, channelId, text('Lembrete'), {
      requestKey: 'pedido-0006',
    });
    await platform.messages.advanceStatus(tenantId, channelId, first.id, {
      status: 'sent',
      at: new Date().toISOString(),
    });
    const again = await sendMessage(deps, tenantId, channelId, text('Lembrete'), {
      requestKey: 'pedido-0006',
    });
    expect(again).toMatchObject({ id: first.id, status: 'sent' });
    expect(commands.sent).toHaveLength(1);
  });

  it('fails a send it could not queue and frees the key, so the retry sends a new message', async () => {
    const { deps, commands, tenantId, channelId } = await clinic();
    commands.failing = true;
    await expect(
      sendMessage(deps, tenantId, channelId, text('Lembrete'), { requestKey: 'pedido-0007' }),
    ).rejects.toThrow('SQS is unavailable');
    const [failed] = (await platform.messages.list(tenantId, channelId, {})).items;
    expect(failed?.statusHistory.at(-1)).toMatchObject({ status: 'failed', error: { code: 'not_queued' } });

    commands.failing = false;
    const retried = await sendMessage(deps, tenantId, channelId, text('Lembrete'), {
      requestKey: 'pedido-0007',
    });
    expect(retried.id).not.toBe(failed?.id);
    expect(commands.sent.map((command) => (command as { messageId: string }).messageId)).toEqual([
      retried.id,
    ]);
  });

  it('keeps the keyless path as it was: each call a new message', async () => {
    const { deps, tenantId, channelId, partition } = await clinic();
    const one = await sendMessage(deps, tenantId, channelId, text('Olá'));
    const two = await sendMessage(deps, tenantId, channelId, text('Olá'));
    expect(two.id).not.toBe(one.id);
    expect([...(await partition()).keys()].some((sk) => sk.startsWith('SEND_REQUEST#'))).toBe(false);
  });
});
