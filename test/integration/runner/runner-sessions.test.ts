import { Curve } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import { type Simulator, startSimulator } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

describe('runner sessions against the WhatsApp simulator', () => {
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

  function command(channel: Channel) {
    return {
      commandId: newId('command'),
      tenantId: channel.tenantId,
      channelId: channel.id,
      issuedAt: new Date().toISOString(),
    };
  }

  const opens = (channelId: string) =>
    world.events.of('channel.status', channelId).filter((event) => event.data.status === 'open').length;

  const channelStatus = async (channel: Channel) =>
    (await world.platform.channels.get(channel.tenantId, channel.id))?.status;

  it('refuses a server that cannot prove it is WhatsApp and tells the clinic why', async () => {
    const impostor = await startSimulator({ rootKeyPair: Curve.generateKeyPair() });
    try {
      const channel = await world.newChannel('Recepção');
      await world.startRunner('runner-a', { dial: impostor });
      await world.bus.send({ ...command(channel), type: 'connect', method: 'qr' }, channel.shard);

      const refused = await until(
        () => world.events.of('channel.status', channel.id).find((event) => event.data.reason),
        'a status change with a reason',
      );
      expect(refused.data).toMatchObject({
        status: 'disconnected',
        reason: 'certificate chain refused: intermediate-signature',
      });
      expect(world.events.of('channel.qr', channel.id)).toEqual([]);
    } finally {
      await world.stopAll();
      await impostor.stop();
    }
  });

  it('pairs by QR, sends and receives with statuses, and resumes after a restart without pairing again', async () => {
    const clinicPhone = await simulator.phones.create('5511911110001');
    const patient = await simulator.phones.create('5511922220001');
    const channel = await world.newChannel('Recepção');
    const runner = await world.startRunner('runner-a');

    await world.pairByQr(channel, clinicPhone);
    const opened = await world.platform.channels.get(channel.tenantId, channel.id);
    expect(opened?.phoneNumber).toBe('+5511911110001');
    expect(opened?.lid).toMatch(/@lid$/);

    const messageId = newId('message');
    await world.bus.send(
      {
        ...command(channel),
        type: 'send',
        messageId,
        message: { to: '+5511922220001', type: 'text', text: { body: 'Sua consulta é amanhã às 9h.' } },
      },
      channel.shard,
    );
    const delivered = await until(
      () => patient.received.find((message) => message.text === 'Sua consulta é amanhã às 9h.'),
      'the patient to receive the text',
    );
    await until(
      async () =>
        (await world.platform.messages.get(channel.tenantId, channel.id, messageId))?.status ===
          'delivered' || undefined,
      'the delivered status',
    );
    await patient.markRead(delivered.id);
    await until(
      async () =>
        (await world.platform.messages.get(channel.tenantId, channel.id, messageId))?.status === 'read' ||
        undefined,
      'the read status',
    );
    expect(world.events.of('message.status', channel.id).map((event) => event.data.status)).toEqual([
      'sent',
      'delivered',
      'read',
    ]);
    expect(runner.health().counters).toMatchObject({ Sends: 1, LeasesAcquired: 2 });
    expect(runner.health().counters.SendFailures).toBeUndefined();

    await patient.sendText('5511911110001', 'Confirmo, obrigado!');
    const received = await until(
      () => world.events.of('message.received', channel.id)[0],
      'a message.received event',
    );
    expect(received.data).toMatchObject({
      type: 'text',
      content: { text: { body: 'Confirmo, obrigado!' } },
      from: { phoneNumber: '+5511922220001' },
    });

    await world.stopAll();
    expect(simulator.server.isConnected({ account: clinicPhone.account, deviceId: 1 })).toBe(false);
    const eventsBefore = world.events.events.length;
    const runnerB = await world.startRunner('runner-b');
    await until(() => runnerB.sessionsByState().open === 1, 'the channel to open again on the new runner');
    expect(simulator.server.isConnected({ account: clinicPhone.account, deviceId: 1 })).toBe(true);
    expect(await channelStatus(channel)).toBe('open');
    // A takeover is quiet: the channel was open and still is; no QR, no status events.
    expect(world.events.events.slice(eventsBefore)).toEqual([]);
  });

  it('reconnects a dropped channel with backoff while WhatsApp refuses it, without pairing again', async () => {
    const clinicPhone = await simulator.phones.create('5511911110003');
    const channel = await world.newChannel('Reconexão');
    const runner = await world.startRunner('runner-a');
    await world.pairByQr(channel, clinicPhone);
    const opensBefore = opens(channel.id);

    simulator.faults.refuseConnections(2_000);
    expect(simulator.faults.dropConnections({ phoneNumber: '5511911110003', deviceId: 1 })).toBe(1);
    await until(() => opens(channel.id) > opensBefore, 'the channel to open again', 60_000);

    const statuses = world.events.of('channel.status', channel.id).map((event) => event.data.status);
    expect(statuses.slice(statuses.lastIndexOf('reconnecting'))).toEqual(['reconnecting', 'open']);
    expect(world.events.of('channel.qr', channel.id)).toHaveLength(1);
    expect(runner.health().counters.Reconnects).toBeGreaterThanOrEqual(1);
    expect(simulator.server.isConnected({ account: clinicPhone.account, deviceId: 1 })).toBe(true);
  });

  it('recycles a zombie socket whose pings go unanswered, then logs back in', async () => {
    const clinicPhone = await simulator.phones.create('5511911110004');
    const channel = await world.newChannel('Zumbi');
    await world.startRunner('runner-a', { sessionTuning: { watchdogIntervalMs: 1_000 } });
    await world.pairByQr(channel, clinicPhone);
    const opensBefore = opens(channel.id);

    // Connected but silent: every frame from the server now arrives seconds late.
    simulator.faults.delayFrames(5_000);
    const recycled = await until(
      () =>
        world.events.of('channel.status', channel.id).find((event) => event.data.status === 'reconnecting'),
      'the watchdog to recycle the socket',
    );
    expect(recycled.data.reason).toBe('connection closed: zombie socket: pings unanswered');
    simulator.faults.reset();
    await until(() => opens(channel.id) > opensBefore, 'the channel to open again', 60_000);
    expect(world.events.of('channel.qr', channel.id)).toHaveLength(1);
  });

  it('pairs by code and ends the session when the phone logs the device out', async () => {
    const clinicPhone = await simulator.phones.create('5511911110002');
    const channel = await world.newChannel('Pairing code');
    await world.startRunner('runner-a');

    await world.bus.send(
      { ...command(channel), type: 'connect', method: 'pairing_code', phoneNumber: '+5511911110002' },
      channel.shard,
    );
    const code = await until(
      () => world.events.of('channel.pairing_code', channel.id)[0],
      'a channel.pairing_code event',
    );
    expect(code.data.phoneNumber).toBe('+5511911110002');
    expect(code.data.pairingCode).toMatch(/^[A-Z0-9]{8}$/);
    expect(await channelStatus(channel)).toBe('pairing_code');
    const deviceId = await clinicPhone.enterPairingCode(code.data.pairingCode);
    await until(async () => (await channelStatus(channel)) === 'open', 'the channel to open');

    clinicPhone.logoutDevice(deviceId);
    await until(async () => (await channelStatus(channel)) === 'logged_out', 'the channel to be logged out');
    await until(() => world.events.of('channel.logged_out', channel.id)[0], 'a channel.logged_out event');
    expect(world.events.of('channel.logged_out', channel.id)).toHaveLength(1);
    expect(await world.storedSessionItems(channel)).toBe(0);
  });
});
