// A deleted channel must stop and its credentials must go, even when its delete command never
// completed: a runner taking the shard finishes the deletion instead of resuming the channel, an
// expired delete still deletes, and running a deletion again changes nothing.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC_NUMBER = '5511955560001';
const PATIENT_NUMBER = '5511966650001';

describe('deleted channels on the runner', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let clinicPhone: VirtualPhone;
  let patient: VirtualPhone;
  let channel: Channel;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    clinicPhone = await simulator.phones.create(CLINIC_NUMBER);
    patient = await simulator.phones.create(PATIENT_NUMBER);
    channel = await world.newChannel('Recepção');
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  const clinicDevice = () => ({ account: clinicPhone.account, deviceId: 1 });
  const counter = (runner: Runner, name: string) =>
    (runner.health().counters as Record<string, number>)[name] ?? 0;
  const markDeleted = () =>
    world.platform.channels.markDeleted(channel.tenantId, channel.id, new Date().toISOString());
  const past = () => new Date(Date.now() - 60_000).toISOString();
  const sessionErased = () =>
    until(async () => (await world.storedSessionItems(channel)) === 0 || undefined, 'the session erased');
  /** Whether the channel is still on its shard's list (a runner taking the shard would look at it). */
  async function listedOnShard(): Promise<boolean> {
    let cursor: string | undefined;
    do {
      const page = await world.platform.channels.listByShard(channel.shard, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      if (page.items.some((item) => item.id === channel.id)) return true;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return false;
  }
  async function commandsLeft(): Promise<number> {
    const { Attributes } = await world.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: world.queueUrls[channel.shard],
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }
  /** Pairs the channel on a first runner, then stops it: the channel is open, its session stored. */
  async function pairedThenNoRunner(): Promise<void> {
    await world.startRunner('runner-a');
    await world.pairByQr(channel, clinicPhone);
    await world.stopAll();
    expect(await world.storedSessionItems(channel)).toBeGreaterThan(0);
    expect(clinicPhone.linkedDevices()).toEqual([1]);
  }

  it('finishes the deletion of a channel marked deleted whose command never ran, instead of resuming it', async () => {
    await pairedThenNoRunner();
    // The clinic deleted the channel; its delete command was lost to the runner (expired, dead letters).
    await markDeleted();
    // A patient writes while no runner is up: WhatsApp holds the message for the linked device.
    await patient.sendText(CLINIC_NUMBER, 'Posso remarcar minha consulta?');
    // And the lost command comes back (redriven from the dead-letter queue) to the runner taking over.
    await world.bus.send({ ...world.commandFields(channel), type: 'delete' }, channel.shard);
    const eventsBefore = world.events.events.length;

    const runnerB = await world.startRunner('runner-b');
    await sessionErased();
    // Logged out: the phone no longer lists the device, and nothing of it is connected.
    await until(() => clinicPhone.linkedDevices().length === 0 || undefined, 'the device unlinked');
    expect(simulator.server.isConnected(clinicDevice())).toBe(false);
    await until(async () => (await commandsLeft()) === 0 || undefined, 'the delete command taken');
    await until(async () => !(await listedOnShard()) || undefined, 'the channel off its shard’s list');

    // Never a session for the clinic: not counted, nothing recorded or reported for the channel.
    expect(runnerB.sessionsByState()).toEqual({});
    expect(await world.receivedMessages(channel)).toEqual([]);
    expect(world.events.events.slice(eventsBefore).filter((event) => event.channelId === channel.id)).toEqual(
      [],
    );
    expect(counter(runnerB, 'CommandsRefused')).toBe(0);
    expect(counter(runnerB, 'DeletedWithoutLogout')).toBe(0);
    // The channel item stays, deleted, with its status as it was.
    expect(await world.platform.channels.get(channel.tenantId, channel.id)).toMatchObject({
      status: 'open',
      deletedAt: expect.any(String),
    });

    // Once more: a delete redelivered, and another runner taking the shard, find nothing to do.
    await world.bus.send({ ...world.commandFields(channel), type: 'delete' }, channel.shard);
    await until(async () => (await commandsLeft()) === 0 || undefined, 'the second delete taken');
    await world.stopAll();
    const runnerC = await world.startRunner('runner-c');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(runnerC.sessionsByState()).toEqual({});
    expect(simulator.server.isConnected(clinicDevice())).toBe(false);
    expect(await world.storedSessionItems(channel)).toBe(0);
    expect(counter(runnerB, 'CommandsRefused') + counter(runnerC, 'CommandsRefused')).toBe(0);
    expect(world.events.events.slice(eventsBefore).filter((event) => event.channelId === channel.id)).toEqual(
      [],
    );
  });

  it('erases a deleted channel’s session without a logout when no socket can be had: the phone keeps a stale device', async () => {
    await pairedThenNoRunner();
    await markDeleted();
    simulator.faults.refuseConnections(120_000);

    const runnerB = await world.startRunner('runner-b');
    await sessionErased();
    await until(async () => !(await listedOnShard()) || undefined, 'the channel off its shard’s list');
    expect(counter(runnerB, 'DeletedWithoutLogout')).toBe(1);
    // The documented cost: WhatsApp still lists the device until it drops it or the phone removes it;
    // with its keys erased nothing can log in as it, and the runner never tries again.
    expect(clinicPhone.linkedDevices()).toEqual([1]);
    simulator.faults.reset();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(simulator.server.isConnected(clinicDevice())).toBe(false);
    expect(runnerB.sessionsByState()).toEqual({});
  });

  it('logs out a channel whose delete arrives while it logs back in, before the API marked it deleted', async () => {
    await pairedThenNoRunner();
    // The API queues the command first and marks the channel after: a runner may be faster.
    await world.bus.send({ ...world.commandFields(channel), type: 'delete' }, channel.shard);
    const runnerB = await world.startRunner('runner-b');
    await sessionErased();
    // The command came while the channel was still logging in quietly: it waited for the login.
    await until(() => clinicPhone.linkedDevices().length === 0 || undefined, 'the device unlinked');
    expect(counter(runnerB, 'DeletedWithoutLogout')).toBe(0);
    expect(runnerB.sessionsByState()).toEqual({});
    // Not marked deleted when the runner finished: left on the shard's list, as it should be…
    expect(await listedOnShard()).toBe(true);
    await markDeleted();
    // …for the shard's next owner, which finds nothing left to erase and takes it off.
    await world.stopAll();
    const runnerC = await world.startRunner('runner-c');
    await until(async () => !(await listedOnShard()) || undefined, 'the channel off its shard’s list');
    expect(runnerC.sessionsByState()).toEqual({});
    expect(simulator.server.isConnected(clinicDevice())).toBe(false);
    expect(await world.storedSessionItems(channel)).toBe(0);
  });

  it('deletes at the deadline of a delete command that expired: logged out, session erased', async () => {
    const runner = await world.startRunner('runner-a');
    await world.pairByQr(channel, clinicPhone);
    // An expired delete under another tenant's id is refused: the runner trusts an expired command
    // no more than a live one.
    await world.bus.send(
      { ...world.commandFields(channel), tenantId: newId('tenant'), type: 'delete', expiresAt: past() },
      channel.shard,
    );
    await until(() => counter(runner, 'CommandsRefused') === 1 || undefined, 'the forgery refused');
    expect(await world.storedSessionItems(channel)).toBeGreaterThan(0);
    expect(simulator.server.isConnected(clinicDevice())).toBe(true);

    // The clinic's own delete (the API marks the channel deleted once it is queued), past its
    // deadline when the runner gets it.
    await markDeleted();
    await world.bus.send(
      { ...world.commandFields(channel), type: 'delete', expiresAt: past() },
      channel.shard,
    );
    await sessionErased();
    await until(() => clinicPhone.linkedDevices().length === 0 || undefined, 'the device unlinked');
    expect(simulator.server.isConnected(clinicDevice())).toBe(false);
    expect(counter(runner, 'CommandsExpired')).toBe(2);
    expect(runner.sessionsByState()).toEqual({});

    // A patient writing now reaches no session of the deleted channel.
    await patient.sendText(CLINIC_NUMBER, 'Alô?');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await world.receivedMessages(channel)).toEqual([]);
    await until(async () => !(await listedOnShard()) || undefined, 'the channel off its shard’s list');
    expect(counter(runner, 'CommandsRefused')).toBe(1);

    // A send still queued for the deleted channel is refused: nothing leaves, nothing is written.
    const late = world.textCommand(channel, `+${PATIENT_NUMBER}`, 'Lembrete da consulta');
    await world.bus.send(late, channel.shard);
    await until(() => counter(runner, 'CommandsRefused') === 2 || undefined, 'the late send refused');
    expect(await world.platform.messages.get(channel.tenantId, channel.id, late.messageId)).toBeNull();
    expect(patient.received).toEqual([]);
  });
});
