import { proto } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';
import type { VirtualPhone } from './virtual-phone.ts';

const { DELIVERY_ACK, READ } = proto.WebMessageInfo.Status;

describe('messaging between a companion and another number', () => {
  let simulator: Simulator;
  let clinic: TestCompanion;
  let patient: VirtualPhone;

  beforeEach(async () => {
    simulator = await startSimulator();
    const clinicPhone = await simulator.phones.create('5511911110001');
    patient = await simulator.phones.create('5511922220002');
    clinic = new TestCompanion(simulator);
    await clinicPhone.scanQr(await eventually(() => clinic.log.qrs[0], 'a QR code'));
    await eventually(() => clinic.log.historySyncs.length > 0, 'history sync after pairing');
  });
  afterEach(async () => {
    clinic.stop();
    await simulator.stop();
  });

  it('delivers a companion text to the phone and reports delivered then read', async () => {
    const sent = await clinic.socket.sendMessage(patient.jid, { text: 'Consulta confirmada às 14h' });
    const id = sent?.key.id ?? '';

    const received = await eventually(
      () => patient.received.find((message) => message.id === id),
      'phone receives',
    );
    expect(received).toMatchObject({
      from: '5511911110001',
      type: 'text',
      text: 'Consulta confirmada às 14h',
    });
    await eventually(() => clinic.statusOf(id) >= DELIVERY_ACK, 'delivered status');

    await patient.markRead(id);
    await eventually(() => clinic.statusOf(id) === READ, 'read status');
  });

  it('tells a listener of each message the phone keeps, as it keeps it', async () => {
    // What the phone holds when the listener hears: the message is kept by then.
    const heard: Array<{ text?: string; kept: number }> = [];
    const stop = patient.onReceived((message) =>
      heard.push({ text: message.text, kept: patient.received.length }),
    );
    await clinic.socket.sendMessage(patient.jid, { text: 'Primeira' });
    await eventually(() => heard.length === 1 || undefined, 'the first message heard');
    stop();
    const sent = await clinic.socket.sendMessage(patient.jid, { text: 'Segunda' });
    await eventually(() => patient.received.find((message) => message.id === sent?.key.id), 'phone receives');
    expect(heard).toEqual([{ text: 'Primeira', kept: 1 }]);
  });

  it('delivers a phone text to the companion and reports delivered then read', async () => {
    const sent = await patient.sendText('5511911110001', 'Posso remarcar?');

    const upsert = await eventually(
      () => clinic.log.upserts.find(({ message }) => message.key.id === sent.id),
      'companion receives',
    );
    expect(upsert.message.message?.conversation ?? upsert.message.message?.extendedTextMessage?.text).toBe(
      'Posso remarcar?',
    );
    expect(upsert.message.key.remoteJid).toBe('5511922220002@s.whatsapp.net');
    await eventually(() => sent.status === 'delivered', 'delivered status');

    await clinic.socket.readMessages([upsert.message.key]);
    await eventually(() => sent.status === 'read', 'read status');
  });
});
