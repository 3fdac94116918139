import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';
import { PhoneError, type VirtualPhone } from './virtual-phone.ts';

describe('linked devices: pairing code, logout from the phone, conflict', () => {
  let simulator: Simulator;
  let phone: VirtualPhone;
  const companions: TestCompanion[] = [];
  const companion = (...args: [TestCompanion['auth']?, boolean?]) => {
    const created = new TestCompanion(simulator, ...args);
    companions.push(created);
    return created;
  };
  const pairByQr = async () => {
    const client = companion();
    await phone.scanQr(await eventually(() => client.log.qrs[0], 'a QR code'));
    await eventually(() => client.log.opens > 0, 'open');
    return client;
  };

  beforeEach(async () => {
    simulator = await startSimulator();
    phone = await simulator.phones.create('5511933330001');
  });
  afterEach(async () => {
    for (const created of companions.splice(0)) created.stop();
    await simulator.stop();
  });

  it('links a companion with the code from requestPairingCode', async () => {
    const client = companion();
    await eventually(() => client.log.qrs[0], 'the registration connection');
    const code = await client.socket.requestPairingCode('5511933330001');

    const deviceId = await phone.enterPairingCode(code);

    await eventually(() => client.log.opens > 0, 'open');
    expect(deviceId).toBe(1);
    expect(client.auth.creds.me?.id).toBe('5511933330001:1@s.whatsapp.net');
    expect(phone.linkedDevices()).toEqual([1]);
  });

  it('refuses a wrong pairing code', async () => {
    const client = companion(undefined, false);
    await eventually(() => client.log.qrs[0], 'the registration connection');
    await client.socket.requestPairingCode('5511933330001', 'ABCD2345');

    const attempt = phone.enterPairingCode('WXYZ6789');

    await expect(attempt).rejects.toMatchObject({ code: 'pairing_code_invalid' });
    await expect(attempt).rejects.toBeInstanceOf(PhoneError);
    expect(phone.linkedDevices()).toEqual([]);
  });

  it('logs a linked device out from the phone: the companion sees loggedOut and cannot return', async () => {
    const client = await pairByQr();

    phone.logoutDevice(1);

    await eventually(() => client.log.closes.includes(401), 'loggedOut');
    expect(phone.linkedDevices()).toEqual([]);
    const returning = companion(client.auth, false);
    await eventually(() => returning.log.closes.length > 0, 'refused login');
    expect(returning.log.closes).toEqual([401]);
  });

  it('replaces the older of two connections of one device with 440', async () => {
    const older = await pairByQr();
    const opensBefore = older.log.opens;
    const newer = companion(older.auth, false);

    await eventually(() => older.log.closes.includes(440), 'older replaced');
    await eventually(() => newer.log.opens > 0, 'newer open');
    expect(older.log.opens).toBe(opensBefore);
    expect(simulator.server.connectionOf({ account: phone.account, deviceId: 1 })?.closed).toBe(false);
  });
});
