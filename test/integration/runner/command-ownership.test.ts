// Forged commands on the shard queues: a runner acts only for a channel the command's tenant owns,
// and only from the queue of that channel's shard. Each forgery ends refused, the patient receives
// nothing from the other clinic's number, and that clinic's channel stays open on its one socket.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { newId } from '#shared/domain/ids.ts';
import { queuedOutboundMessage } from '#shared/domain/message.ts';
import type { Tenant } from '#shared/domain/tenant.ts';
import { createChannel } from '#shared/use-cases/channels.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC_B_NUMBER = '5511933340001';
const PATIENT_NUMBER = '5511944450001';

describe('commands a runner refuses', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let runner: Runner;
  let clinicB: Tenant;
  let channelB: Channel;
  let clinicBPhone: VirtualPhone;
  let patient: VirtualPhone;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    clinicB = await createTenant(world.platform, { name: 'Clínica B' });
    channelB = await createChannel({ channels: world.platform.channels, shardCount: 2 }, clinicB.id, {
      name: 'Recepção B',
    });
    clinicBPhone = await simulator.phones.create(CLINIC_B_NUMBER);
    patient = await simulator.phones.create(PATIENT_NUMBER);
    runner = await world.startRunner('runner-a');
    await world.pairByQr(channelB, clinicBPhone);
    // The event follows the record: wait for it, so the forgeries are judged from a settled count.
    await until(
      () => world.events.of('channel.status', channelB.id).find((event) => event.data.status === 'open'),
      'channel B’s open event',
    );
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  const otherShard = () => 1 - channelB.shard;
  const envelope = (tenantId: string) => ({
    commandId: newId('command'),
    tenantId,
    channelId: channelB.id,
    issuedAt: new Date().toISOString(),
  });
  const sendFrom = (tenantId: string): Extract<ChannelCommand, { type: 'send' }> => ({
    ...envelope(tenantId),
    type: 'send',
    messageId: newId('message'),
    message: { to: `+${PATIENT_NUMBER}`, type: 'text', text: { body: 'Seu resultado saiu' } },
  });
  const refusals = () => runner.health().counters.CommandsRefused ?? 0;
  const commandsLeft = async () => {
    let left = 0;
    for (const queueUrl of world.queueUrls) {
      const { Attributes } = await world.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      left +=
        Number(Attributes?.ApproximateNumberOfMessages) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
    }
    return left;
  };
  const clinicBDevice = () => ({ account: clinicBPhone.account, deviceId: 1 });

  /** Sends the forgeries, waits until the runner refused them all, and checks channel B is unharmed. */
  async function refusedWithoutHarm(forgeries: { command: ChannelCommand; shard: number }[]) {
    const statusEventsBefore = world.events.of('channel.status', channelB.id).length;
    for (const { command, shard } of forgeries) await world.bus.send(command, shard);
    // Done with, one way or the other: the outcome is what the assertions below look at.
    await until(async () => (await commandsLeft()) === 0 || undefined, 'the runner to take every forgery');

    // A legitimate send from clinic B after them still goes out, on the one socket B has.
    const legitimate = sendFrom(clinicB.id);
    await world.bus.send(legitimate, channelB.shard);
    await until(() => patient.received[0], 'the legitimate message');
    expect(patient.received.map(({ from, text }) => ({ from, text }))).toEqual([
      { from: CLINIC_B_NUMBER, text: 'Seu resultado saiu' },
    ]);
    expect((await world.platform.channels.get(clinicB.id, channelB.id))?.status).toBe('open');
    expect(world.events.of('channel.status', channelB.id)).toHaveLength(statusEventsBefore);
    expect(simulator.server.isConnected(clinicBDevice())).toBe(true);
    expect(refusals()).toBe(forgeries.length);
  }

  it('refuses another tenant’s send and delete for a channel it does not own', async () => {
    const clinicA = world.tenant.id;
    const forgedSend = sendFrom(clinicA);
    await refusedWithoutHarm([
      { command: forgedSend, shard: channelB.shard },
      { command: { ...envelope(clinicA), type: 'delete' }, shard: channelB.shard },
      { command: { ...envelope(clinicA), type: 'logout' }, shard: channelB.shard },
    ]);
    // Nothing was written for either clinic, and B's session is still stored.
    expect(await world.platform.messages.get(clinicA, channelB.id, forgedSend.messageId)).toBeNull();
    expect(await world.platform.messages.get(clinicB.id, channelB.id, forgedSend.messageId)).toBeNull();
    expect(await world.storedSessionItems({ tenantId: clinicB.id, id: channelB.id })).toBeGreaterThan(0);
  });

  it('refuses a command for a channel of its own tenant put on another shard’s queue', async () => {
    const misrouted = sendFrom(clinicB.id);
    await refusedWithoutHarm([
      // A second socket for B from the other shard's worker would replace B's own (440 both ways).
      { command: { ...envelope(clinicB.id), type: 'connect', method: 'qr' }, shard: otherShard() },
      { command: misrouted, shard: otherShard() },
    ]);
    // The clinic is told why its misrouted message failed.
    const stored = await world.platform.messages.get(clinicB.id, channelB.id, misrouted.messageId);
    expect(stored?.status).toBe('failed');
    expect(stored?.statusHistory.at(-1)?.error?.code).toBe('wrong_shard');
    expect(
      world.events
        .of('message.status', channelB.id)
        .filter((event) => event.data.messageId === misrouted.messageId)
        .map((event) => event.data.status),
    ).toEqual(['failed']);
  });

  it('does not fail a real send whose copy was put on another shard’s queue', async () => {
    const real = sendFrom(clinicB.id);
    // The real send is recorded as queued (as the API does) and on its way; a copy goes astray.
    await world.platform.messages.put(queuedOutboundMessage(real, new Date()));
    await refusedWithoutHarm([{ command: real, shard: otherShard() }]);
    expect((await world.platform.messages.get(clinicB.id, channelB.id, real.messageId))?.status).toBe(
      'queued',
    );
    expect(
      world.events
        .of('message.status', channelB.id)
        .filter((event) => event.data.messageId === real.messageId),
    ).toEqual([]);
  });
});
