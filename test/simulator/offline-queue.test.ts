import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { node } from './binary.ts';
import { OfflineQueue } from './offline-queue.ts';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';
import type { VirtualPhone } from './virtual-phone.ts';

describe('offline queue', () => {
  let simulator: Simulator;
  let patient: VirtualPhone;
  const companions: TestCompanion[] = [];

  beforeEach(async () => {
    simulator = await startSimulator();
    patient = await simulator.phones.create('5511922220010');
  });
  afterEach(async () => {
    for (const companion of companions.splice(0)) companion.stop();
    await simulator.stop();
  });

  it('delivers messages sent while the companion was offline when it reconnects', async () => {
    const clinicPhone = await simulator.phones.create('5511911110010');
    const first = new TestCompanion(simulator);
    companions.push(first);
    await clinicPhone.scanQr(await eventually(() => first.log.qrs[0], 'a QR code'));
    await eventually(() => first.log.historySyncs.length > 0, 'history sync');
    first.stop();
    const clinicDevice = { account: clinicPhone.account, deviceId: 1 };
    await eventually(() => !simulator.server.isConnected(clinicDevice), 'companion offline');

    const sentFirst = await patient.sendText('5511911110010', 'primeira');
    const sentSecond = await patient.sendText('5511911110010', 'segunda');
    await eventually(
      () => simulator.server.queue.count('5511911110010:1') === 2,
      'both held for the companion',
    );

    const back = new TestCompanion(simulator, first.auth);
    companions.push(back);

    const appended = await eventually(() => {
      const texts = back.log.upserts.filter(({ type, message }) => type === 'append' && !message.key.fromMe);
      return texts.length === 2 ? texts : undefined;
    }, 'both offline messages');
    expect(
      appended.map(
        ({ message }) => message.message?.conversation ?? message.message?.extendedTextMessage?.text,
      ),
    ).toEqual(['primeira', 'segunda']);
    // The clinic's phone is online too, so delivery was reported already; the companion still gets both.
    expect([sentFirst.status, sentSecond.status]).toEqual(['delivered', 'delivered']);
    await eventually(() => simulator.server.queue.count('5511911110010:1') === 0, 'queue drained by acks');
  });
});

describe('offline queue bookkeeping', () => {
  it('keeps a message resent after a retry receipt apart from the first delivery, which a late nack settles', () => {
    const queue = new OfflineQueue();
    const message = () => node('message', { id: 'M1', from: '5511922220010@s.whatsapp.net' });
    queue.hold('5511911110010:1', message());
    queue.hold('5511911110010:1', message());
    expect(queue.count('5511911110010:1')).toBe(2);
    // The client's ack of the delivery it could not decrypt settles that one only.
    queue.settle('5511911110010:1', 'message', 'M1');
    expect(queue.count('5511911110010:1')).toBe(1);
    queue.hold('5511911110010:1', message());
    // A receipt answers the message: every delivery of it is settled.
    queue.settle('5511911110010:1', 'message', 'M1', undefined, { all: true });
    expect(queue.count('5511911110010:1')).toBe(0);
  });
});
