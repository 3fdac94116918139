import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import { newId } from '#shared/domain/ids.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

describe('runner messages of every kind', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let channel: Channel;
  let patient: VirtualPhone;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    const clinicPhone = await simulator.phones.create('5511911120001');
    patient = await simulator.phones.create('5511922230001');
    channel = await world.newChannel('Recepção');
    await world.startRunner('runner-a');
    await world.pairByQr(channel, clinicPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  const send = (message: OutboundMessage) => world.send(channel, message);
  const command = () => world.commandFields(channel);

  it('sends image, document, audio and video from the media store, byte for byte', async () => {
    const image = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 7)]);
    const pdf = Buffer.from('%PDF-1.7\n% receita médica\n');
    const audio = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(1024, 3)]);
    const imageId = await world.media.put(channel.tenantId, {
      data: image,
      mimeType: 'image/jpeg',
      fileName: null,
    });
    const pdfId = await world.media.put(channel.tenantId, {
      data: pdf,
      mimeType: 'application/pdf',
      fileName: 'receita.pdf',
    });
    const video = Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42'), Buffer.alloc(3072, 5)]);
    const videoId = await world.media.put(channel.tenantId, {
      data: video,
      mimeType: 'video/mp4',
      fileName: null,
    });
    const audioId = await world.media.put(channel.tenantId, {
      data: audio,
      mimeType: 'audio/ogg; codecs=opus',
      fileName: null,
    });

    await send({ to: '+5511922230001', type: 'image', image: { mediaId: imageId, caption: 'Seu exame' } });
    await send({
      to: '+5511922230001',
      type: 'document',
      document: { mediaId: pdfId, filename: 'receita.pdf' },
    });
    await send({ to: '+5511922230001', type: 'audio', audio: { mediaId: audioId } });
    await send({
      to: '+5511922230001',
      type: 'video',
      video: { mediaId: videoId, caption: 'Como usar a bombinha' },
    });

    const received = await until(
      () => (patient.received.length >= 4 ? patient.received : undefined),
      'four media messages',
    );
    const byType = Object.fromEntries(received.map((message) => [message.type, message]));
    expect(byType.image).toMatchObject({
      caption: 'Seu exame',
      mimetype: 'image/jpeg',
      mediaBase64: image.toString('base64'),
    });
    expect(byType.document).toMatchObject({ fileName: 'receita.pdf', mediaBase64: pdf.toString('base64') });
    expect(byType.audio?.mediaBase64).toBe(audio.toString('base64'));
    expect(byType.video).toMatchObject({
      caption: 'Como usar a bombinha',
      mimetype: 'video/mp4',
      mediaBase64: video.toString('base64'),
    });
  });

  it('receives a patient’s media into the media store and refers to it by id', async () => {
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), Buffer.alloc(4096, 9)]);
    await patient.sendMedia('5511911120001', {
      kind: 'image',
      data: photo,
      mimetype: 'image/jpeg',
      caption: 'Minha receita',
    });
    const event = await until(
      () => world.events.of('message.received', channel.id)[0],
      'a message.received event',
    );
    expect(event.data).toMatchObject({
      type: 'image',
      content: { image: { mimeType: 'image/jpeg', caption: 'Minha receita', size: photo.length } },
      from: { phoneNumber: '+5511922230001' },
    });
    const mediaId = (event.data.content.image as { mediaId: string }).mediaId;
    const stored = await world.media.get(channel.tenantId, mediaId);
    expect(stored?.data.equals(photo)).toBe(true);
    expect(await world.media.get('ten_other', mediaId)).toBeNull();
  });

  it('replies to and reacts on a received message, and fails a reaction to an unknown one', async () => {
    await patient.sendText('5511911120001', 'Posso remarcar?');
    const question = await until(() => world.events.of('message.received', channel.id)[0], 'the question');

    await send({
      to: '+5511922230001',
      type: 'text',
      text: { body: 'Claro! Qual horário?' },
      context: { messageId: question.data.messageId },
    });
    await send({
      to: '+5511922230001',
      type: 'reaction',
      reaction: { messageId: question.data.messageId, emoji: '👍' },
    });
    await until(
      () => patient.received.find((message) => message.text === 'Claro! Qual horário?'),
      'the reply',
    );

    const failedId = newId('message');
    await world.bus.send(
      {
        ...command(),
        type: 'send',
        messageId: failedId,
        message: {
          to: '+5511922230001',
          type: 'reaction',
          reaction: { messageId: newId('message'), emoji: '👍' },
        },
      },
      channel.shard,
    );
    const failed = await until(async () => {
      const stored = await world.platform.messages.get(channel.tenantId, channel.id, failedId);
      return stored?.status === 'failed' ? stored : undefined;
    }, 'the reaction to fail');
    expect(failed.statusHistory.at(-1)?.error?.code).toBe('invalid_reference');
  });

  it('sends location and contacts', async () => {
    await send({
      to: '+5511922230001',
      type: 'location',
      location: { latitude: -23.5614, longitude: -46.6559, name: 'Clínica Paulista' },
    });
    await send({
      to: '+5511922230001',
      type: 'contacts',
      contacts: [{ name: { formattedName: 'Dra. Ana' }, phones: [{ phone: '+5511912345678' }] }],
    });
    await until(() => (patient.received.length >= 2 ? true : undefined), 'both messages at the patient');
  });

  it('sends a burst of texts in the order queued, each sent and delivered once', async () => {
    const ids = [];
    for (let n = 0; n < 12; n++) {
      const messageId = newId('message');
      ids.push(messageId);
      await world.bus.send(
        {
          ...command(),
          type: 'send',
          messageId,
          message: { to: '+5511922230001', type: 'text', text: { body: `lembrete ${n}` } },
        },
        channel.shard,
      );
    }
    await until(
      () => (patient.received.length >= 12 ? true : undefined),
      'every text at the patient',
      30_000,
    );
    expect(patient.received.map((message) => message.text)).toEqual(
      Array.from({ length: 12 }, (_, n) => `lembrete ${n}`),
    );
    for (const messageId of ids) {
      const history = await until(async () => {
        const stored = await world.platform.messages.get(channel.tenantId, channel.id, messageId);
        return stored?.status === 'delivered' ? stored.statusHistory : undefined;
      }, `message ${messageId} delivered`);
      expect(history.map((change) => change.status)).toEqual(['queued', 'sent', 'delivered']);
    }
  });

  it('checks which numbers are on WhatsApp and stores the answer under the command id', async () => {
    const check = {
      ...command(),
      type: 'check_numbers' as const,
      phoneNumbers: ['+5511922230001', '+5511900009999'],
    };
    await world.bus.send(check, channel.shard);
    const results = await until(
      () => world.contactChecks.get(channel.tenantId, check.commandId),
      'the check results',
    );
    expect(results).toEqual([
      { phoneNumber: '+5511922230001', onWhatsApp: true, lid: expect.stringMatching(/@lid$/) },
      { phoneNumber: '+5511900009999', onWhatsApp: false, lid: null },
    ]);
  });
});
