import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';

describe('pairing and login', () => {
  let simulator: Simulator;
  const companions: TestCompanion[] = [];
  const companion = (
    ...args: ConstructorParameters<typeof TestCompanion> extends [unknown, ...infer Rest] ? Rest : never
  ) => {
    const created = new TestCompanion(simulator, ...args);
    companions.push(created);
    return created;
  };

  beforeEach(async () => {
    simulator = await startSimulator();
  });
  afterEach(async () => {
    for (const created of companions.splice(0)) created.stop();
    await simulator.stop();
  });

  it('links a companion by QR and opens it with its phone number and LID', async () => {
    const phone = await simulator.phones.create('5511900000001');
    const client = companion();
    const qr = await eventually(() => client.log.qrs[0], 'a QR code');

    const deviceId = await phone.scanQr(qr);

    await eventually(() => client.log.opens > 0, 'connection open');
    expect(deviceId).toBe(1);
    expect(client.auth.creds.me?.id).toBe('5511900000001:1@s.whatsapp.net');
    expect(client.auth.creds.me?.lid).toBe(`${phone.account.lid}:1@lid`);
    expect(client.log.closes).toEqual([515]);
  });

  it('logs a returning device in with its stored credentials', async () => {
    const phone = await simulator.phones.create('5511900000002');
    const first = companion();
    await phone.scanQr(await eventually(() => first.log.qrs[0], 'a QR code'));
    await eventually(() => first.log.opens > 0, 'first open');
    first.stop();

    const returning = companion(first.auth);

    await eventually(() => returning.log.opens > 0, 'returning open');
    expect(returning.log.qrs).toEqual([]);
    expect(simulator.server.isConnected({ account: phone.account, deviceId: 1 })).toBe(true);
  });

  it('rejects a device the server does not know with 401', async () => {
    const phone = await simulator.phones.create('5511900000003');
    const first = companion();
    await phone.scanQr(await eventually(() => first.log.qrs[0], 'a QR code'));
    await eventually(() => first.log.opens > 0, 'first open');
    first.stop();
    const stranger = await startSimulator();
    try {
      const rejected = new TestCompanion(stranger, first.auth, false);
      companions.push(rejected);
      await eventually(() => rejected.log.closes.length > 0, 'close');
      expect(rejected.log.closes).toEqual([401]);
      expect(rejected.log.opens).toBe(0);
    } finally {
      await stranger.stop();
    }
  });

  it('flushes the first connection after pairing without the 20 s history wait', async () => {
    const phone = await simulator.phones.create('5511900000004');
    const client = companion();
    await phone.scanQr(await eventually(() => client.log.qrs[0], 'a QR code'));
    await eventually(() => client.log.opens > 0, 'open');

    await eventually(() => client.log.historySyncs.length > 0, 'history sync processed', 10_000);
    expect(client.log.historySyncs).toEqual([0]);
  });
});
