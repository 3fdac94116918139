// A send re-executed under one Idempotency-Key, through a real runner to the patient's phone: one
// message, however the re-issued command meets the first (deduplicated by SQS, after the first was
// sent, or in the same batch once SQS's five-minute window has passed).
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { queuedOutboundMessage, whatsappMessageId } from '#shared/domain/message.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import type { CommandBus } from '#shared/ports.ts';
import { sendMessage } from '#shared/use-cases/messages.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC = '5511911170001';
const PATIENT = '5511922270001';

describe('a send re-executed under one Idempotency-Key', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let channel: Channel;
  let patient: VirtualPhone;
  let firstRunner: Runner;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    const clinicPhone = await simulator.phones.create(CLINIC);
    patient = await simulator.phones.create(PATIENT);
    channel = await world.newChannel('Recepção');
    firstRunner = await world.startRunner('runner-a');
    await world.pairByQr(channel, clinicPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  /** Queues `command` as a new SQS message: the deduplication window of its first copy has passed. */
  const queuePastDeduplication = (command: ChannelCommand, copy: string) =>
    world.sqs.send(
      new SendMessageCommand({
        QueueUrl: world.queueUrls[channel.shard],
        MessageBody: JSON.stringify(command),
        MessageGroupId: channel.id,
        MessageDeduplicationId: `${command.commandId}-${copy}`,
      }),
    );

  /** Both copies handled (and deleted), and a second send, had there been one, given time to land. */
  const queueDrained = async () => {
    await until(async () => {
      const { Attributes } = await world.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: world.queueUrls[channel.shard],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Attributes?.ApproximateNumberOfMessages === '0' &&
        Attributes.ApproximateNumberOfMessagesNotVisible === '0'
      );
    }, 'the command queue drained');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  };

  const stored = (messageId: string) => world.platform.messages.get(channel.tenantId, channel.id, messageId);

  /** The API's use case on this test's queues: `commands` by default as the API queues them. */
  const useCases = (commands: CommandBus = world.bus) => ({
    channels: world.platform.channels,
    messages: world.platform.messages,
    media: world.media,
    commands,
    shardCount: world.queueUrls.length,
  });
  const reminder: OutboundMessage = {
    to: `+${PATIENT}`,
    type: 'text',
    text: { body: 'Lembrete: consulta amanhã às 9h.' },
  };

  it('sends once when the request runs again after the message was sent', async () => {
    const first = await sendMessage(useCases(), channel.tenantId, channel.id, reminder, {
      requestKey: 'agenda-0001',
    });
    await until(async () => (await stored(first.id))?.status === 'delivered' || undefined, 'delivered');
    // The Lambda timed out before Powertools kept its response: the retry runs the send again.
    const again = await sendMessage(useCases(), channel.tenantId, channel.id, reminder, {
      requestKey: 'agenda-0001',
    });
    await until(async () => (await stored(again.id))?.status === 'delivered' || undefined, 'delivered');
    await queueDrained();

    const waMessageId = whatsappMessageId(channel.id, first.id);
    expect(patient.received.map((message) => message.id)).toEqual([waMessageId]);
    expect(patient.arrivals.get(waMessageId)).toBe(1);
    expect(firstRunner.health().counters.Sends).toBe(1);
    expect(again.id).toBe(first.id);
    expect((await world.platform.messages.list(channel.tenantId, channel.id, {})).items).toHaveLength(1);

    const otherBody = { ...reminder, text: { body: 'Outro texto' } };
    await expect(
      sendMessage(useCases(), channel.tenantId, channel.id, otherBody, { requestKey: 'agenda-0001' }),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused', httpStatus: 409 });
    await queueDrained();
    expect(patient.received).toHaveLength(1);
    expect((await world.platform.messages.list(channel.tenantId, channel.id, {})).items).toHaveLength(1);
  });

  it('sends once when the request runs again past SQS’s deduplication, both commands waiting', async () => {
    await firstRunner.stop();
    let copies = 0;
    // Each send a new SQS message: the five minutes in which SQS drops a copy have passed.
    const pastDeduplication: CommandBus = {
      send: async (command) => {
        await queuePastDeduplication(command, String(copies++));
      },
    };
    const one = await sendMessage(useCases(pastDeduplication), channel.tenantId, channel.id, reminder, {
      requestKey: 'agenda-0002',
    });
    const again = await sendMessage(useCases(pastDeduplication), channel.tenantId, channel.id, reminder, {
      requestKey: 'agenda-0002',
    });
    expect(copies).toBe(2);

    // The next runner receives both commands together.
    const runner = await world.startRunner('runner-b');
    for (const { id } of [one, again]) {
      await until(async () => (await stored(id))?.status === 'delivered' || undefined, 'delivered');
    }
    await queueDrained();
    const waMessageId = whatsappMessageId(channel.id, one.id);
    expect(patient.received.map((message) => message.id)).toEqual([waMessageId]);
    expect(patient.arrivals.get(waMessageId)).toBe(1);
    expect(runner.health().counters.Sends).toBe(1);
    expect(again.id).toBe(one.id);
  });

  it('sends once when two copies of its command reach the runner in one batch', async () => {
    // No runner while both copies are queued, so the next one receives them together.
    await firstRunner.stop();
    const command = world.textCommand(channel, `+${PATIENT}`, 'Sua consulta é amanhã às 9h.');
    await world.platform.messages.put(queuedOutboundMessage(command, new Date()));
    await queuePastDeduplication(command, 'first');
    await queuePastDeduplication(command, 'again');

    const runner = await world.startRunner('runner-b');
    await until(
      async () => (await stored(command.messageId))?.status === 'delivered' || undefined,
      'the message delivered',
    );
    await queueDrained();

    const waMessageId = whatsappMessageId(channel.id, command.messageId);
    expect(patient.arrivals.get(waMessageId)).toBe(1);
    expect(patient.undecryptable).not.toContain(waMessageId);
    expect(patient.received.filter((message) => message.id === waMessageId)).toHaveLength(1);
    expect((await stored(command.messageId))?.statusHistory.map((change) => change.status)).toEqual([
      'queued',
      'sent',
      'delivered',
    ]);
    // One send; the other copy found it sent (a retry while the restored session opens may come first).
    expect(runner.health().counters.Sends).toBe(1);
  });
});
