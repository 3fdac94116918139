import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import { type Simulator, startSimulator } from '#test/simulator/simulator.ts';
import { runnerPlatform, until } from './support/runner-harness.ts';

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

  const opens = (channelId: string) =>
    world.events.of('channel.status', channelId).filter((event) => event.data.status === 'open').length;

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

  it('splits the shards between two runners and hands them over at once on SIGTERM, without re-pairing', async () => {
    const a = await world.startRunner('runner-a');
    const b = await world.startRunner('runner-b');
    await a.tick(); // a sees b and hands its share over
    await b.tick();
    expect(a.heldShards).toEqual([0]);
    expect(b.heldShards).toEqual([1]);

    const channels = await pairedChannels();
    const onB = channels.find((channel) => channel.shard === 1) as Channel;
    const opensBefore = opens(onB.id);
    expect(b.sessionsByState()).toEqual({ open: 1 });

    await b.stop(); // SIGTERM: sockets closed without logout, lease released at once
    await a.tick(); // no wait for the lease to expire
    expect(a.heldShards).toEqual([0, 1]);
    await until(() => opens(onB.id) > opensBefore, 'the handed-over channel to open on runner a');
    expect(a.sessionsByState()).toEqual({ open: 2 });
    expect(world.events.of('channel.qr', onB.id)).toHaveLength(1);
    expect(world.events.of('channel.logged_out')).toEqual([]);
  });
});
