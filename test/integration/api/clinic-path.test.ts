// A clinic's whole path through the public API, over real HTTP to the local front, with a runner on
// the same queues and virtual phones on the WhatsApp simulator: nothing below the API is called.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '#test/simulator';
import { type RunnerPlatform, runnerPlatform, until } from '../runner/support/runner-harness.ts';
import type { ApiClient } from './support/api-client.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';

let simulator: Simulator;
let runners: RunnerPlatform;
let api: ApiWorld;
let clinic: ApiClient;

beforeAll(async () => {
  simulator = await startSimulator();
  runners = await runnerPlatform(simulator);
  await runners.startRunner('api-runner');
  // The API queues commands on the runner's queues (this file's own, so no other test sees them).
  api = await startApiWorld({
    COMMAND_QUEUE_URLS: runners.queueUrls.join(','),
    SHARD_COUNT: String(runners.queueUrls.length),
  });
  clinic = (await api.newTenant()).client;
});
afterAll(async () => {
  await api?.front.stop();
  await runners?.stopAll();
  await simulator?.stop();
});

const channelOf = async (id: string) => (await clinic.get(`/v1/channels/${id}`)).body;

async function waitForStatus(channelId: string, status: string) {
  return until(async () => {
    const channel = await channelOf(channelId);
    return channel.status === status ? channel : undefined;
  }, `channel ${channelId} to be ${status}`);
}

async function waitForMessageStatus(channelId: string, messageId: string, status: string) {
  return until(async () => {
    const message = (await clinic.get(`/v1/channels/${channelId}/messages/${messageId}`)).body;
    return message.status === status ? message : undefined;
  }, `message ${messageId} to be ${status}`);
}

describe("a clinic's path through the API", () => {
  let channelId: string;
  const clinicNumber = '5511933330001';
  const patientNumber = '5511944440001';
  const patientName = 'Maria Quintela';

  /** The `message.received` event the runner published for one of the channel's messages. */
  const receivedEventOf = (messageId: string) =>
    until(
      () =>
        runners.events.of('message.received', channelId).find((event) => event.data.messageId === messageId),
      `the message.received event of ${messageId}`,
    );

  it('creates a channel and pairs it by QR, served as text, PNG and SVG', async () => {
    const clinicPhone = await simulator.phones.create(clinicNumber);
    await simulator.phones.create(patientNumber, { pushName: patientName });
    const created = await clinic.post('/v1/channels', { name: 'Recepção' });
    expect(created.status).toBe(201);
    channelId = created.body.id;
    expect((await clinic.get(`/v1/channels/${channelId}/qr`)).status).toBe(409);

    const connect = await clinic.post(`/v1/channels/${channelId}/connect`, { method: 'qr' });
    expect(connect.status).toBe(202);
    const waiting = await until(async () => {
      const channel = await channelOf(channelId);
      return channel.qr ? channel : undefined;
    }, 'a QR on the channel');
    expect(waiting).toMatchObject({ status: 'qr', pairingExpiresAt: expect.any(String) });

    const qr = await clinic.get(`/v1/channels/${channelId}/qr?format=text`);
    expect(qr.body).toEqual({ qr: waiting.qr, expiresAt: waiting.pairingExpiresAt });
    const png = await clinic.get(`/v1/channels/${channelId}/qr?format=png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    const svg = await clinic.get(`/v1/channels/${channelId}/qr?format=svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svg.body).toContain('<svg');

    await clinicPhone.scanQr(qr.body.qr);
    const open = await waitForStatus(channelId, 'open');
    expect(open).toMatchObject({ phoneNumber: `+${clinicNumber}`, lid: expect.stringMatching(/@lid$/) });
    expect(open.qr).toBeUndefined();
  });

  it('sends a text the patient receives, with its statuses through GET', async () => {
    const patient = simulator.phones.get(patientNumber);
    const sent = await clinic.post(`/v1/channels/${channelId}/messages`, {
      to: `+${patientNumber}`,
      type: 'text',
      text: { body: 'Sua consulta é amanhã às 9h.' },
    });
    expect(sent).toMatchObject({ status: 202, body: { id: expect.any(String), status: 'queued' } });
    const received = await until(
      () => patient?.received.find((message) => message.text === 'Sua consulta é amanhã às 9h.'),
      'the patient to receive the text',
    );
    await waitForMessageStatus(channelId, sent.body.id, 'delivered');
    await patient?.markRead(received.id);
    const read = await waitForMessageStatus(channelId, sent.body.id, 'read');
    expect(read).toMatchObject({
      direction: 'outbound',
      type: 'text',
      text: { body: 'Sua consulta é amanhã às 9h.' },
      contact: { phoneNumber: `+${patientNumber}` },
    });
    expect(read.statusHistory.map((change: { status: string }) => change.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'read',
    ]);
  });

  it("reads the patient's reply, replies to it, reacts and marks it read", async () => {
    const patient = simulator.phones.get(patientNumber);
    await patient?.sendText(clinicNumber, 'Confirmo, obrigado!');
    const inbound = await until(async () => {
      const page = (await clinic.get(`/v1/channels/${channelId}/messages?direction=inbound`)).body;
      return page.items[0];
    }, 'the reply in the message list');
    expect(inbound).toMatchObject({
      direction: 'inbound',
      type: 'text',
      text: { body: 'Confirmo, obrigado!' },
      contact: { phoneNumber: `+${patientNumber}`, name: patientName },
      status: 'received',
    });
    // The webhook payload and the messages API present the message alike.
    const event = await receivedEventOf(inbound.id);
    expect(event.data.content).toEqual({ text: inbound.text });
    expect(event.data.from).toEqual(inbound.contact);
    const byContact = await clinic.get(
      `/v1/channels/${channelId}/messages?contact=${encodeURIComponent(`+${patientNumber}`)}`,
    );
    expect(byContact.body.items.length).toBeGreaterThanOrEqual(2);
    // The same list with the number in the body, out of the URL: the same page.
    const searched = await clinic.post(`/v1/channels/${channelId}/messages/search`, {
      contact: `+${patientNumber}`,
    });
    expect(searched.status).toBe(200);
    const idsOf = (page: { items: { id: string }[] }) => page.items.map((message) => message.id);
    expect(idsOf(searched.body)).toEqual(idsOf(byContact.body));
    const nobody = await clinic.post(`/v1/channels/${channelId}/messages/search`, {
      contact: '+5511900000009',
    });
    expect(nobody.body.items).toEqual([]);

    const before = patient?.received.length ?? 0;
    const sends = [
      { type: 'text', text: { body: 'Até amanhã!' }, context: { messageId: inbound.id } },
      { type: 'reaction', reaction: { messageId: inbound.id, emoji: '👍' } },
      { type: 'location', location: { latitude: -23.56, longitude: -46.65, name: 'Clínica' } },
      {
        type: 'contacts',
        contacts: [{ name: { formattedName: 'Recepção' }, phones: [{ phone: '+5511933330001' }] }],
      },
    ];
    const ids: string[] = [];
    for (const message of sends) {
      const sent = await clinic.post(`/v1/channels/${channelId}/messages`, {
        to: `+${patientNumber}`,
        ...message,
      });
      expect(sent.status).toBe(202);
      ids.push(sent.body.id);
    }
    for (const id of ids) await waitForMessageStatus(channelId, id, 'delivered');
    await until(
      () => ((patient?.received.length ?? 0) >= before + 3 ? true : undefined),
      'the phone to receive them',
    );
    expect(patient?.received.some((message) => message.text === 'Até amanhã!')).toBe(true);

    const read = await clinic.post(`/v1/channels/${channelId}/messages/${inbound.id}/read`);
    expect(read.status).toBe(202);
    const outboundRead = await clinic.post(`/v1/channels/${channelId}/messages/${ids[0]}/read`);
    expect(outboundRead).toMatchObject({ status: 422, body: { error: { code: 'not_inbound' } } });
  });

  it('uploads media three ways and sends image, document, audio and video the patient receives byte for byte', async () => {
    const patient = simulator.phones.get(patientNumber);
    const image = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const raw = await clinic.request('POST', '/v1/media', {
      rawBody: image,
      headers: { 'content-type': 'image/png' },
    });
    expect(raw).toMatchObject({
      status: 201,
      body: { mimeType: 'image/png', size: image.length, fileName: null },
    });

    const form = new FormData();
    const pdf = Buffer.from('%PDF-1.4\n% receita médica\n');
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'receita.pdf');
    const multipart = await fetch(`${clinic.baseUrl}/v1/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clinic.key}` },
      body: form,
    });
    const document = (await multipart.json()) as { mediaId: string; fileName: string };
    expect(multipart.status).toBe(201);
    expect(document.fileName).toBe('receita.pdf');

    const audio = Buffer.alloc(64 * 1024, 7);
    const reserved = await clinic.post('/v1/media/uploads', {
      mimeType: 'audio/ogg',
      size: audio.length,
      fileName: 'nota.ogg',
    });
    expect(reserved.status).toBe(201);
    const put = await fetch(reserved.body.upload.url, {
      method: 'PUT',
      headers: reserved.body.upload.headers,
      body: audio,
    });
    expect(put.status).toBe(200);
    const download = await clinic.get(`/v1/media/${reserved.body.mediaId}`);
    expect(download.body).toMatchObject({ mimeType: 'audio/ogg', size: audio.length, fileName: 'nota.ogg' });
    expect(Buffer.from(await (await fetch(download.body.url)).arrayBuffer()).equals(audio)).toBe(true);

    // A type API Gateway would hand over as text unless every type is binary: the bytes must survive.
    const docx = Buffer.from('504b03048081feff00c3', 'hex');
    const office = await clinic.request('POST', '/v1/media?filename=laudo.docx', {
      rawBody: docx,
      headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
    });
    expect(office.body.size).toBe(docx.length);
    const stored = await clinic.get(`/v1/media/${office.body.mediaId}`);
    expect(Buffer.from(await (await fetch(stored.body.url)).arrayBuffer()).equals(docx)).toBe(true);

    const video = await clinic.request('POST', '/v1/media?filename=video.mp4', {
      rawBody: Buffer.alloc(2048, 3),
      headers: { 'content-type': 'video/mp4' },
    });
    const sends = [
      { type: 'image', image: { mediaId: raw.body.mediaId, caption: 'Exame' } },
      { type: 'document', document: { mediaId: document.mediaId, filename: 'receita.pdf' } },
      { type: 'audio', audio: { mediaId: reserved.body.mediaId } },
      { type: 'video', video: { mediaId: video.body.mediaId } },
    ];
    const before = patient?.received.length ?? 0;
    for (const message of sends) {
      const sent = await clinic.post(`/v1/channels/${channelId}/messages`, {
        to: `+${patientNumber}`,
        ...message,
      });
      expect(sent.status).toBe(202);
      await waitForMessageStatus(channelId, sent.body.id, 'delivered');
    }
    const received = await until(
      () => ((patient?.received.length ?? 0) >= before + 4 ? patient?.received.slice(before) : undefined),
      'the patient to receive the four files',
    );
    expect(received.map((message) => message.type)).toEqual(['image', 'document', 'audio', 'video']);
    const documentReceived = received[1];
    await until(
      () => documentReceived?.mediaBase64 ?? patient?.received[before + 1]?.mediaBase64,
      'the document downloaded',
    );
    expect(Buffer.from(patient?.received[before + 1]?.mediaBase64 ?? '', 'base64').equals(pdf)).toBe(true);

    const unknown = await clinic.post(`/v1/channels/${channelId}/messages`, {
      to: `+${patientNumber}`,
      type: 'image',
      image: { mediaId: 'med_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' },
    });
    expect(unknown).toMatchObject({ status: 422, body: { error: { code: 'media_not_found' } } });
  });

  it("reads the patient's photo as its event carries it: under `image`, with the stored file's size and SHA-256", async () => {
    const patient = simulator.phones.get(patientNumber);
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(20_000, 4)]);
    const sent = await patient?.sendMedia(clinicNumber, {
      kind: 'image',
      data: photo,
      mimetype: 'image/jpeg',
      caption: 'Exame de sangue',
    });
    const inbound = await until(async () => {
      const page = (await clinic.get(`/v1/channels/${channelId}/messages?direction=inbound`)).body;
      return page.items.find((message: { type: string }) => message.type === 'image');
    }, 'the photo in the message list');
    expect(sent).toBeDefined();
    expect(inbound.image).toEqual({
      mediaId: expect.stringMatching(/^med_/),
      mimeType: 'image/jpeg',
      sha256: createHash('sha256').update(photo).digest('hex'),
      size: photo.length,
      fileName: null,
      caption: 'Exame de sangue',
    });
    const event = await receivedEventOf(inbound.id);
    expect(event.data).toMatchObject({ type: 'image', from: inbound.contact });
    expect(event.data.content).toEqual({ image: inbound.image });
    const media = await clinic.get(`/v1/media/${inbound.image.mediaId}`);
    expect(media.body).toMatchObject({ mimeType: 'image/jpeg', size: photo.length });
    const bytes = Buffer.from(await (await fetch(media.body.url)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(inbound.image.sha256);
  });

  it('sends media by link, and refuses links to addresses the platform may not reach', async () => {
    const patient = simulator.phones.get(patientNumber);
    const picture = Buffer.from('ffd8ffe000104a46494600010101', 'hex');
    const files = createServer((request, response) => {
      if (request.url === '/moved') {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(picture);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    const port = (files.address() as AddressInfo).port;
    try {
      const before = patient?.received.length ?? 0;
      const sent = await clinic.post(`/v1/channels/${channelId}/messages`, {
        to: `+${patientNumber}`,
        type: 'image',
        image: { link: `http://127.0.0.1:${port}/exame.jpg` },
      });
      await waitForMessageStatus(channelId, sent.body.id, 'delivered');
      const received = await until(
        () => (patient?.received[before]?.mediaBase64 ? patient.received[before] : undefined),
        'the linked image',
      );
      expect(Buffer.from(received.mediaBase64 ?? '', 'base64').equals(picture)).toBe(true);

      for (const link of [
        `http://localhost:${port}/exame.jpg`,
        'http://169.254.169.254/latest/meta-data/',
        `http://127.0.0.1:${port}/moved`,
      ]) {
        const refused = await clinic.post(`/v1/channels/${channelId}/messages`, {
          to: `+${patientNumber}`,
          type: 'image',
          image: { link },
        });
        const failed = await waitForMessageStatus(channelId, refused.body.id, 'failed');
        expect(failed.error.code).toBe('media_link_forbidden');
      }
    } finally {
      files.close();
    }
  });

  it('refuses a reply to a message the channel does not have', async () => {
    const reply = await clinic.post(`/v1/channels/${channelId}/messages`, {
      to: `+${patientNumber}`,
      type: 'text',
      text: { body: 'x' },
      context: { messageId: 'msg_01JDQ7Z8K3M4N5P6Q7R8S9T0VW' },
    });
    expect(reply).toMatchObject({ status: 422, body: { error: { code: 'invalid_reference' } } });
  });

  it('checks which numbers are on WhatsApp', async () => {
    const check = await clinic.post(`/v1/channels/${channelId}/contacts/check`, {
      phoneNumbers: [`+${patientNumber}`, '+5511900009999'],
    });
    const answer =
      check.status === 200
        ? check.body
        : await until(async () => {
            const polled = (await clinic.get(`/v1/channels/${channelId}/contacts/checks/${check.body.id}`))
              .body;
            return polled.status === 'done' ? polled : undefined;
          }, 'the contact check');
    expect(answer.results).toEqual([
      { phoneNumber: `+${patientNumber}`, onWhatsApp: true, lid: expect.stringMatching(/@lid$/) },
      { phoneNumber: '+5511900009999', onWhatsApp: false, lid: null },
    ]);
  });

  it('pairs a second channel by pairing code', async () => {
    const phone = await simulator.phones.create('5511933330002');
    const channel = (await clinic.post('/v1/channels', { name: 'Financeiro' })).body;
    const connect = await clinic.post(`/v1/channels/${channel.id}/connect`, {
      method: 'pairing_code',
      phoneNumber: '+5511933330002',
    });
    expect(connect.status).toBe(202);
    const waiting = await until(async () => {
      const current = await channelOf(channel.id);
      return current.pairingCode ? current : undefined;
    }, 'a pairing code on the channel');
    expect(waiting.status).toBe('pairing_code');
    await phone.enterPairingCode(waiting.pairingCode);
    const open = await waitForStatus(channel.id, 'open');
    expect(open.phoneNumber).toBe('+5511933330002');
    expect(open.pairingCode).toBeUndefined();
  });

  it('logs out, refuses to restart a logged-out channel, and deletes it', async () => {
    const logout = await clinic.post(`/v1/channels/${channelId}/logout`);
    expect(logout.status).toBe(202);
    await waitForStatus(channelId, 'logged_out');
    const restart = await clinic.post(`/v1/channels/${channelId}/restart`);
    expect(restart).toMatchObject({ status: 409, body: { error: { code: 'channel_not_connected' } } });
    const send = await clinic.post(`/v1/channels/${channelId}/messages`, {
      to: `+${patientNumber}`,
      type: 'text',
      text: { body: 'x' },
    });
    expect(send).toMatchObject({ status: 409, body: { error: { code: 'channel_not_connected' } } });

    expect((await clinic.delete(`/v1/channels/${channelId}`)).status).toBe(202);
    expect((await clinic.get(`/v1/channels/${channelId}`)).status).toBe(404);
    const listed = (await clinic.get('/v1/channels')).body.items.map((channel: { id: string }) => channel.id);
    expect(listed).not.toContain(channelId);
    expect((await clinic.delete(`/v1/channels/${channelId}`)).status).toBe(404);
  });
});
