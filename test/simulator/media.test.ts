import { randomBytes } from 'node:crypto';
import { downloadMediaMessage } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';
import type { VirtualPhone } from './virtual-phone.ts';

describe('media: encrypted upload and download', () => {
  let simulator: Simulator;
  let clinic: TestCompanion;
  let patient: VirtualPhone;

  beforeEach(async () => {
    simulator = await startSimulator();
    const clinicPhone = await simulator.phones.create('5511966660001');
    patient = await simulator.phones.create('5511977770001');
    clinic = new TestCompanion(simulator);
    await clinicPhone.scanQr(await eventually(() => clinic.log.qrs[0], 'a QR code'));
    await eventually(() => clinic.log.historySyncs.length > 0, 'companion ready');
  });
  afterEach(async () => {
    clinic.stop();
    await simulator.stop();
  });

  it('sends an image, a document and an audio from the companion; the phone decrypts each', async () => {
    const image = randomBytes(20_000);
    const document = randomBytes(5_000);
    const audio = randomBytes(8_000);
    const sent = [
      await clinic.socket.sendMessage(patient.jid, { image, mimetype: 'image/jpeg', caption: 'Receita' }),
      await clinic.socket.sendMessage(patient.jid, {
        document,
        mimetype: 'application/pdf',
        fileName: 'exame.pdf',
      }),
      await clinic.socket.sendMessage(patient.jid, { audio, mimetype: 'audio/ogg; codecs=opus' }),
    ].map((message) => message?.key.id);

    const received = await eventually(() => {
      const found = sent.map((id) => patient.received.find((message) => message.id === id));
      return found.every((message) => message?.mediaBase64) ? found : undefined;
    }, 'three media messages');
    expect(received.map((message) => [message?.type, message?.mimetype])).toEqual([
      ['image', 'image/jpeg'],
      ['document', 'application/pdf'],
      ['audio', 'audio/ogg; codecs=opus'],
    ]);
    expect(received[0]?.caption).toBe('Receita');
    expect(received[1]?.fileName).toBe('exame.pdf');
    expect(received.map((message) => Buffer.from(message?.mediaBase64 ?? '', 'base64'))).toEqual([
      image,
      document,
      audio,
    ]);
    expect(simulator.media.store.size).toBe(3);
    for (const blob of [...simulator.media.store.entries()].map(([, stored]) => stored)) {
      expect([image, document, audio].some((plain) => blob.includes(plain.subarray(0, 64)))).toBe(false);
    }
  });

  it('sends an image, a document and an audio from the phone; the companion downloads each', async () => {
    const image = randomBytes(12_000);
    const document = randomBytes(3_000);
    const audio = randomBytes(6_000);
    const sent = [
      await patient.sendMedia('5511966660001', { kind: 'image', data: image, mimetype: 'image/png' }),
      await patient.sendMedia('5511966660001', {
        kind: 'document',
        data: document,
        mimetype: 'text/plain',
        fileName: 'sintomas.txt',
      }),
      await patient.sendMedia('5511966660001', { kind: 'audio', data: audio, mimetype: 'audio/mpeg' }),
    ];

    const upserts = await eventually(() => {
      const found = sent.map(({ id }) => clinic.log.upserts.find(({ message }) => message.key.id === id));
      return found.every(Boolean) ? found : undefined;
    }, 'three media messages');
    const downloaded = await Promise.all(
      upserts.map(async (upsert) =>
        upsert ? Buffer.from(await downloadMediaMessage(upsert.message, 'buffer', {})) : undefined,
      ),
    );
    expect(downloaded).toEqual([image, document, audio]);
    expect(upserts[1]?.message.message?.documentMessage?.fileName).toBe('sintomas.txt');
    await eventually(() => sent.every((message) => message.status === 'delivered'), 'delivered');
  });
});
