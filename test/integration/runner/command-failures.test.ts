// Commands that cannot be carried out, now or ever: each ends in its terminal state at once or when
// it can, the commands behind it in the channel's group are delivered once, and none climbs to the
// dead-letter queue.
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC_NUMBER = '5511966670001';
const PATIENT_NUMBER = '5511977780001';

describe('commands that fail', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let runner: Runner;
  let channel: Channel;
  let clinicPhone: VirtualPhone;
  let patient: VirtualPhone;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    clinicPhone = await simulator.phones.create(CLINIC_NUMBER);
    patient = await simulator.phones.create(PATIENT_NUMBER);
    channel = await world.newChannel('Recepção');
    runner = await world.startRunner('runner-a', {
      // A reconnect and a retry soon after the fault lifts, not minutes later.
      sessionTuning: {
        backoff: { baseMs: 200, maxMs: 2_000 },
        breaker: { failureThreshold: 1_000, openMs: 1 },
      },
      commandRetry: { baseMs: 200, maxMs: 2_000 },
    });
    await world.pairByQr(channel, clinicPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  const envelope = () => world.commandFields(channel);
  const text = (body: string) => world.textCommand(channel, `+${PATIENT_NUMBER}`, body);
  /** Puts a raw body on the channel's group, as anything with access to the queue could. */
  const enqueue = (body: string) =>
    world.sqs.send(
      new SendMessageCommand({
        QueueUrl: world.queueUrls[channel.shard],
        MessageBody: body,
        MessageGroupId: channel.id,
        MessageDeduplicationId: newId('command'),
      }),
    );
  const counter = (name: string) => (runner.health().counters as Record<string, number>)[name] ?? 0;
  const statusOf = async (messageId: string) =>
    (await world.platform.messages.get(channel.tenantId, channel.id, messageId))?.status;
  const statusEvents = (messageId: string) =>
    world.events
      .of('message.status', channel.id)
      .filter((event) => event.data.messageId === messageId)
      .map((event) => [event.data.status, event.data.error?.code ?? null]);
  const texts = () => patient.received.map((message) => message.text);

  async function deadLetters(): Promise<number> {
    const queueUrl = world.queueUrls[channel.shard] as string;
    const attributes = await world.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const { deadLetterTargetArn } = JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}');
    const { QueueUrl } = await world.sqs.send(
      new GetQueueUrlCommand({ QueueName: String(deadLetterTargetArn).split(':').at(-1) }),
    );
    const dead = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    return dead.Messages?.length ?? 0;
  }

  it('refuses what is not a valid command at once, and the channel’s next send goes out once', async () => {
    // A send recorded as queued, then a broken command naming it: the command is not believed (it
    // could be a forgery naming a real send still on its way), so the record is left as it was.
    const broken = text('nunca enviada');
    await world.platform.messages.put(queuedOutboundMessage(broken, new Date()));
    const { message: _message, ...withoutMessage } = broken;
    const huge = 'x'.repeat(300 * 1024);

    await enqueue('{"type": "send", "tenantId": ');
    await enqueue(JSON.stringify({ ...envelope(), type: 'reboot' }));
    await enqueue(JSON.stringify(withoutMessage));
    await enqueue(JSON.stringify({ ...text('gigante'), commandId: huge, channelId: huge, tenantId: huge }));
    const after = text('depois');
    await world.bus.send(after, channel.shard);

    await until(
      async () => (await statusOf(after.messageId)) === 'delivered' || undefined,
      'the send behind',
    );
    expect(counter('CommandsRefused')).toBe(4);
    expect(texts()).toEqual(['depois']);
    expect(await statusOf(broken.messageId)).toBe('queued');
    expect(statusEvents(broken.messageId)).toEqual([]);
    expect(await deadLetters()).toBe(0);
  });

  it('fails sends to a logged-out channel at once, each once, and nothing reaches the patient', async () => {
    clinicPhone.logoutDevice(1);
    await until(
      async () => (await world.platform.channels.get(channel.tenantId, channel.id))?.status === 'logged_out',
      'the channel logged out',
    );
    const first = text('primeira');
    const second = text('segunda');
    await world.bus.send(first, channel.shard);
    await world.bus.send(
      { ...envelope(), type: 'check_numbers', phoneNumbers: [`+${PATIENT_NUMBER}`] },
      channel.shard,
    );
    await world.bus.send(second, channel.shard);

    await until(async () => (await statusOf(second.messageId)) === 'failed' || undefined, 'the second send');
    expect(await statusOf(first.messageId)).toBe('failed');
    expect(statusEvents(first.messageId)).toEqual([['failed', 'channel_not_connected']]);
    expect(statusEvents(second.messageId)).toEqual([['failed', 'channel_not_connected']]);
    expect(counter('CommandsRefused')).toBe(1); // the check, which needs an open channel
    expect(texts()).toEqual([]);
    expect(await deadLetters()).toBe(0);
  });

  it('holds a send while the channel reconnects for 90 s, then sends it and the one behind it, once, in order', async () => {
    const clinicDevice = { phoneNumber: CLINIC_NUMBER, deviceId: 1 };
    simulator.faults.refuseConnections(90_000);
    simulator.server.dropConnections(clinicDevice);
    await until(
      async () =>
        (await world.platform.channels.get(channel.tenantId, channel.id))?.status === 'reconnecting',
      'the channel reconnecting',
    );
    const first = text('um');
    const second = text('dois');
    await world.bus.send(first, channel.shard);
    await world.bus.send(second, channel.shard);

    await until(() => counter('SendRetries') >= 3 || undefined, 'the send retried while reconnecting');
    expect(texts()).toEqual([]);
    expect(await statusOf(first.messageId)).toBe('queued');

    // Polled in memory: a read of the table 20 times a second for minutes would load the emulator.
    await until(() => texts().length >= 2 || undefined, 'both sends once the channel is back', 150_000);
    await until(async () => (await statusOf(second.messageId)) === 'delivered' || undefined, 'delivered');
    expect(texts()).toEqual(['um', 'dois']);
    expect(statusEvents(first.messageId).map(([status]) => status)).toEqual(['sent', 'delivered']);
    expect(statusEvents(second.messageId).map(([status]) => status)).toEqual(['sent', 'delivered']);
    expect(await deadLetters()).toBe(0);
  }, 240_000);
});
