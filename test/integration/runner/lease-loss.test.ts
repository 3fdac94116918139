// A runner that still reaches WhatsApp but no longer DynamoDB cannot prove it holds its shards: it
// must close their sockets before another runner may take them over, so one device never has two
// sockets (WhatsApp's 440 "replaced", both ways, forever) and no Signal state is used by two writers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy.ts';
import { emulatorEnvironment } from '../support/platform.ts';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC_NUMBER = '5511955560001';
const PATIENT_NUMBER = '5511955570001';

describe('a runner cut off from DynamoDB', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let proxy: DynamoProxy;
  /** While true, every request of the cut-off runner waits unanswered: a lost route to DynamoDB. */
  let cut = false;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    cut = false;
    proxy = await startDynamoProxy(emulatorEnvironment().AWS_ENDPOINT_URL as string, () =>
      cut ? 'hold' : 'forward',
    );
  });
  afterEach(async () => {
    cut = false;
    proxy.dropHeld();
    await world.stopAll();
    await proxy.close();
    await simulator.stop();
  });

  /** A channel on shard 0, which the runner sorted first keeps when two split the two shards. */
  async function channelOnShardZero(): Promise<Channel> {
    for (;;) {
      const channel = await world.newChannel('Recepção');
      if (channel.shard === 0) return channel;
    }
  }

  const send = (channel: Channel, body: string) =>
    world.bus.send(world.textCommand(channel, `+${PATIENT_NUMBER}`, body), channel.shard);

  it('closes its sockets before the other runner logs its channels in: no 440 either way, nothing sent twice or undecryptable', async () => {
    const channel = await channelOnShardZero();
    const clinicPhone = await simulator.phones.create(CLINIC_NUMBER);
    const patient: VirtualPhone = await simulator.phones.create(PATIENT_NUMBER);
    const loops = { leaseTtlMs: 6_000 };
    const cutOff: Runner = await world.startRunner('runner-a', { dynamoEndpoint: proxy.url, loops });
    await world.pairByQr(channel, clinicPhone);
    const survivor = await world.startRunner('runner-b', { loops });
    await until(
      () => (cutOff.heldShards.join() === '0' && survivor.heldShards.join() === '1') || undefined,
      'the two runners to split the shards',
    );
    await send(channel, 'antes');
    await until(() => patient.received.find((message) => message.text === 'antes'), 'the first message');

    const clinicDevice = { account: clinicPhone.account, deviceId: 1 };
    const replacedBefore = simulator.server.replacedConnections;
    cut = true;
    await send(channel, 'durante');

    // The cut-off runner gives shard 0 up by its own clock and closes the channel's socket; only then
    // may the survivor take it.
    await until(() => !simulator.server.isConnected(clinicDevice) || undefined, 'the socket closed', 20_000);
    const survivorHadShardWhenSocketClosed = survivor.heldShards.includes(0);
    expect(cutOff.heldShards).toEqual([]);
    await until(
      () => (survivor.heldShards.includes(0) ? true : undefined),
      'the survivor to take shard 0',
      30_000,
    );
    await until(() => simulator.server.isConnected(clinicDevice) || undefined, 'the channel logged in again');

    await until(
      () => patient.received.find((message) => message.text === 'durante'),
      'the message sent meanwhile',
    );
    await send(channel, 'depois');
    await until(() => patient.received.find((message) => message.text === 'depois'), 'a message after');
    await patient.sendText(CLINIC_NUMBER, 'resposta');
    await until(
      () =>
        world.events
          .of('message.received', channel.id)
          .find((event) => (event.data.content.text as { body?: string } | undefined)?.body === 'resposta'),
      'the patient’s reply recorded by the survivor',
    );

    expect(survivorHadShardWhenSocketClosed).toBe(false);
    expect(simulator.server.replacedConnections).toBe(replacedBefore);
    expect(cutOff.health().counters.LeasesLost).toBe(1);
    expect(patient.received.map((message) => message.text)).toEqual(['antes', 'durante', 'depois']);
    expect(patient.undecryptable).toEqual([]);
    expect(clinicPhone.undecryptable).toEqual([]);
  }, 120_000);
});
