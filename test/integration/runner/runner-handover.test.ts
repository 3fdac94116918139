import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import { PAIRING_SECRET_EVENTS, type PlatformEvent } from '#shared/domain/events.ts';
import { type Simulator, startSimulator } from '#test/simulator';
import { runnerPlatform, until, withListByShard } from './support/runner-harness.ts';

describe('runners sharing the shards', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  /** One channel per shard, paired through whichever runner holds its shard. */
  async function pairedChannels(): Promise<Channel[]> {
    const channels: Channel[] = [];
    for (let i = 0; channels.length < 2; i++) {
      const channel = await world.newChannel(`Line ${i}`);
      if (!channels.some((other) => other.shard === channel.shard)) channels.push(channel);
    }
    for (const [i, channel] of channels.entries()) {
      const phone = await simulator.phones.create(`551193333000${i}`);
      await world.pairByQr(channel, phone);
    }
    return channels;
  }

  it('never lets a shard released while still restoring poll its queue afterwards', async () => {
    // Runner a's restores hang until the gate opens, so it hands shard 1 over mid-start.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const channels = world.runnerChannels;
    const slowChannels = withListByShard(channels, async (shard, request) => {
      await gate;
      return channels.listByShard(shard, request);
    });
    const a = await world.startRunner('runner-a', { channels: slowChannels });
    expect(a.heldShards).toEqual([0, 1]);
    const b = await world.startRunner('runner-b');
    const handingOver = a.tick();
    await new Promise((resolve) => setTimeout(resolve, 200));
    openGate();
    await handingOver;
    await b.tick();
    expect(b.heldShards).toEqual([1]);

    const onShard1: Channel[] = [];
    while (onShard1.length < 6) {
      const channel = await world.newChannel(`Line ${onShard1.length}`);
      if (channel.shard === 1) onShard1.push(channel);
    }
    for (const channel of onShard1) await world.connectByQr(channel);
    await until(
      () => onShard1.every((channel) => world.events.of('channel.qr', channel.id).length > 0),
      'a QR for every channel of shard 1',
    );
    // Every one was taken by b: a's abandoned start never began polling shard 1.
    expect(b.sessionsByState()).toEqual({ qr: onShard1.length });
  });

  it('gives its leases up on SIGTERM before its long polls end, then waits for them', async () => {
    const a = await world.startRunner('runner-a', { commandWaitSeconds: 10 });
    expect(a.heldShards).toEqual([0, 1]);
    // Both polls are out (a loaded machine took more than the half second this once waited).
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    let stopped = false;
    const stopping = a.stop().then(() => {
      stopped = true;
    });
    await until(
      async () => (await world.shardOwners()).every((owner) => owner === null) || undefined,
      'both leases released',
    );
    expect(stopped).toBe(false);
    await stopping;
  }, 30_000);

  it('splits the shards between two runners and hands them over at once on SIGTERM, without re-pairing', async () => {
    const a = await world.startRunner('runner-a');
    const b = await world.startRunner('runner-b');
    await a.tick(); // a sees b and hands its share over
    await b.tick();
    expect(a.heldShards).toEqual([0]);
    expect(b.heldShards).toEqual([1]);

    const channels = await pairedChannels();
    const onB = channels.find((channel) => channel.shard === 1) as Channel;
    expect(b.sessionsByState()).toEqual({ open: 1 });

    await b.stop(); // SIGTERM: sockets closed without logout, lease released at once
    await a.tick(); // no wait for the lease to expire
    expect(a.heldShards).toEqual([0, 1]);
    await until(() => a.sessionsByState().open === 2, 'the handed-over channel to open on runner a');
    expect(a.sessionsByState()).toEqual({ open: 2 });
    const phoneOfB = simulator.phones.get(`551193333000${channels.indexOf(onB)}`);
    expect(phoneOfB && simulator.server.isConnected({ account: phoneOfB.account, deviceId: 1 })).toBe(true);
    expect(world.events.of('channel.qr', onB.id)).toHaveLength(1);
    expect(world.events.of('channel.logged_out')).toEqual([]);
  });

  it('numbers a channel’s events 1, 2, 3… under its shard’s lease, and from 1 again under the next', async () => {
    const a = await world.startRunner('runner-a');
    const b = await world.startRunner('runner-b');
    await a.tick();
    await b.tick();
    const channels = await pairedChannels();
    const onB = channels.find((channel) => channel.shard === 1) as Channel;
    const clinicNumber = `551193333000${channels.indexOf(onB)}`;
    const patient = await simulator.phones.create('5511922250001');

    /** The channel's events on the webhook path by lease (epoch), once each lease's numbers are 1…n. */
    const numberedByLease = () => {
      const events = world.events.events.filter(
        (event) =>
          event.channelId === onB.id && !(PAIRING_SECRET_EVENTS as readonly string[]).includes(event.type),
      );
      if (events.some((event) => !event.sequence)) throw new Error('an event of the channel has no number');
      const byLease = new Map<number, PlatformEvent[]>();
      for (const event of events) {
        const epoch = event.sequence?.epoch ?? 0;
        byLease.set(epoch, [...(byLease.get(epoch) ?? []), event]);
      }
      // A received message's event is numbered as its record is written and published just after:
      // the numbers seen are 1…n once nothing is in between.
      const whole = [...byLease.values()].every((leased) =>
        leased
          .map((event) => event.sequence?.seq ?? 0)
          .sort((x, y) => x - y)
          .every((seq, i) => seq === i + 1),
      );
      return whole ? byLease : undefined;
    };

    // Under b's lease: the pairing's statuses, and two messages received (their events from the outbox).
    await patient.sendText(clinicNumber, 'Bom dia');
    await patient.sendText(clinicNumber, 'Posso remarcar para sexta?');
    const underB = await until(() => {
      const byLease = numberedByLease();
      const received = [...(byLease?.values() ?? [])].flat().filter((e) => e.type === 'message.received');
      return received.length === 2 ? byLease : undefined;
    }, 'both messages received under b');
    expect([...underB.keys()]).toHaveLength(1);
    const [leaseOfB] = [...underB.keys()] as [number];

    // b stops; a takes the shard over under a new lease, and numbers the channel's events from 1.
    await b.stop();
    await a.tick();
    await until(() => a.sessionsByState().open === 2 || undefined, 'the channel open on runner a');
    await patient.sendText(clinicNumber, 'Ainda estão aí?');
    await world.send(onB, { to: '+5511922250001', type: 'text', text: { body: 'Sim, pode ser sexta.' } });
    const both = await until(() => {
      const byLease = numberedByLease();
      const later = [...(byLease?.entries() ?? [])].find(([epoch]) => epoch !== leaseOfB)?.[1] ?? [];
      return later.some((e) => e.type === 'message.received') &&
        later.some((e) => e.type === 'message.status')
        ? byLease
        : undefined;
    }, 'a received message and a status under a');
    const [first, second] = [...both.keys()].sort((x, y) => x - y) as [number, number];
    expect([...both.keys()]).toHaveLength(2);
    expect(first).toBe(leaseOfB);
    expect(second).toBeGreaterThan(first);
    expect((both.get(second) ?? []).map((event) => event.sequence?.seq ?? 0).sort((x, y) => x - y)).toEqual(
      (both.get(second) ?? []).map((_, i) => i + 1),
    );
    // QR codes travel apart and are never numbered.
    expect(world.events.of('channel.qr', onB.id).map((event) => event.sequence)).toEqual([undefined]);
  });
});
