import { proto } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';

describe('admin HTTP API', () => {
  let simulator: Simulator;
  const companions: TestCompanion[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${simulator.adminUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeEach(async () => {
    simulator = await startSimulator();
  });
  afterEach(async () => {
    for (const companion of companions.splice(0)) companion.stop();
    await simulator.stop();
  });

  it('serves the trust anchor and validates requests with precise errors', async () => {
    expect(await call('GET', '/trust')).toEqual({
      status: 200,
      body: {
        rootPublicKey: simulator.rootPublicKey.toString('base64'),
        wsUrl: simulator.wsUrl,
        mediaCaPem: simulator.mediaCaPem,
      },
    });
    expect(await call('POST', '/phones', { phoneNumber: '12' })).toEqual({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          message: 'phoneNumber: E.164 (+5511987654321) or its digits: 7–15 digits, country code first',
        },
      },
    });
    expect(await call('POST', '/phones', '{not json')).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'the body is not valid JSON' } },
    });
    expect(await call('GET', '/phones/5511999999999/messages')).toEqual({
      status: 404,
      body: { error: { code: 'phone_not_found', message: 'no virtual phone 5511999999999' } },
    });
    expect((await call('GET', '/nope')).body.error.code).toBe('not_found');

    const created = await call('POST', '/phones', { phoneNumber: '5511944440001' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ phoneNumber: '5511944440001', connected: true, linkedDevices: [] });
    expect((await call('POST', '/phones', { phoneNumber: '5511944440001' })).status).toBe(200);
    expect((await call('POST', '/phones/5511944440001/pairing-code', { code: 'x' })).body.error.code).toBe(
      'invalid_request',
    );
    expect(await call('POST', '/phones/5511944440001/messages', { to: '5511900000000', text: 'oi' })).toEqual(
      {
        status: 422,
        body: {
          error: {
            code: 'recipient_not_on_whatsapp',
            message: '5511900000000 is not a WhatsApp number in this simulator',
          },
        },
      },
    );
    expect(await call('POST', '/phones/5511944440001/read', { messageId: 'NOPE' })).toEqual({
      status: 404,
      body: { error: { code: 'message_not_found', message: 'no received message NOPE' } },
    });
  });

  it('takes a number in E.164 or as digits, in bodies and in paths, and answers with the digits', async () => {
    const created = await call('POST', '/phones', { phoneNumber: '+5511944440003' });
    expect(created).toMatchObject({
      status: 201,
      body: { phoneNumber: '5511944440003', jid: '5511944440003@s.whatsapp.net' },
    });
    // The same phone, whichever form names it.
    expect(await call('POST', '/phones', { phoneNumber: '5511944440003' })).toEqual({
      status: 200,
      body: created.body,
    });
    for (const path of ['/phones/+5511944440003', '/phones/%2B5511944440003', '/phones/5511944440003'])
      expect(await call('GET', path)).toEqual({ status: 200, body: created.body });
    expect((await call('POST', '/phones', { phoneNumber: '5511955550003' })).status).toBe(201);

    const sent = await call('POST', '/phones/+5511944440003/messages', { to: '+5511955550003', text: 'Oi' });
    expect(sent).toMatchObject({ status: 201, body: { to: '5511955550003', status: 'server_ack' } });
    const received = await eventually(async () => {
      const { body } = await call('GET', '/phones/%2B5511955550003/messages');
      return body.received.find((message: { id: string }) => message.id === sent.body.id);
    }, 'the message, read through the E.164 path');
    expect(received).toMatchObject({ from: '5511944440003', text: 'Oi' });
    expect((await call('GET', '/phones/5511944440003/messages')).body.sent).toEqual([
      { id: sent.body.id, to: '5511955550003', status: expect.any(String) },
    ]);

    // A fault's selector names the phone's own socket in either form.
    expect(await call('POST', '/faults/drop', { phoneNumber: '+5511955550003', deviceId: 0 })).toEqual({
      status: 200,
      body: { affected: 1 },
    });
  });

  it('refuses a malformed number with 400 invalid_request, in the body or the path', async () => {
    const reason = 'E.164 (+5511987654321) or its digits: 7–15 digits, country code first';
    for (const phoneNumber of [
      '+0511944440004',
      '++5511944440004',
      '+55 11 94444-0004',
      '5511944440004+',
      '+',
    ])
      expect(await call('POST', '/phones', { phoneNumber })).toEqual({
        status: 400,
        body: { error: { code: 'invalid_request', message: `phoneNumber: ${reason}` } },
      });
    for (const path of ['/phones/+12', '/phones/abc/messages', '/phones/%2B%2B5511944440004/history-sync'])
      expect(await call(path.endsWith('history-sync') ? 'POST' : 'GET', path)).toEqual({
        status: 400,
        body: { error: { code: 'invalid_request', message: `phoneNumber: ${reason}` } },
      });
    expect(await call('GET', '/phones/%E0%A4%A')).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'the path is not valid percent-encoding' } },
    });
    await call('POST', '/phones', { phoneNumber: '+5511944440004' });
    expect(
      await call('POST', '/phones/+5511944440004/messages', { to: '+55119444400041234', text: 'oi' }),
    ).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: `to: ${reason}` } },
    });
    expect(await call('POST', '/faults/drop', { phoneNumber: '+abc' })).toEqual({
      status: 400,
      body: { error: { code: 'invalid_request', message: `phoneNumber: ${reason}` } },
    });
    expect(simulator.phones.list().map((phone) => phone.phoneNumber)).toEqual(['5511944440004']);
  });

  it('pairs, chats, marks read and logs out through HTTP', async () => {
    await call('POST', '/phones', { phoneNumber: '5511944440002' });
    await call('POST', '/phones', { phoneNumber: '5511955550002' });
    const clinic = new TestCompanion(simulator);
    companions.push(clinic);
    const qr = await eventually(() => clinic.log.qrs[0], 'a QR code');

    const scanned = await call('POST', '/phones/5511944440002/scan', { qr });
    expect(scanned).toEqual({
      status: 200,
      body: {
        deviceId: 1,
        jid: '5511944440002:1@s.whatsapp.net',
        lid: `${simulator.phones.get('5511944440002')?.account.lid}:1@lid`,
      },
    });
    await eventually(() => clinic.log.historySyncs.length > 0, 'companion ready');

    const sent = await call('POST', '/phones/5511955550002/messages', {
      to: '5511944440002',
      text: 'Olá clínica',
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ to: '5511944440002', status: 'server_ack' });
    const upsert = await eventually(
      () => clinic.log.upserts.find(({ message }) => message.key.id === sent.body.id),
      'clinic receives',
    );
    await clinic.socket.readMessages([upsert.message.key]);
    const statusOf = async (): Promise<string | undefined> =>
      (await call('GET', '/phones/5511955550002/messages')).body.sent.find(
        (message: { id: string }) => message.id === sent.body.id,
      )?.status;
    await eventually(async () => (await statusOf()) === 'read', 'read status over HTTP');

    const reply = await clinic.socket.sendMessage('5511955550002@s.whatsapp.net', { text: 'Bom dia!' });
    const received: Array<{ id: string; text?: string; from: string }> = await eventually(async () => {
      const { body } = await call('GET', '/phones/5511955550002/messages');
      return body.received.some((message: { id: string }) => message.id === reply?.key.id) && body.received;
    }, 'phone receives over HTTP');
    expect(received.find((message) => message.id === reply?.key.id)).toMatchObject({
      from: '5511944440002',
      text: 'Bom dia!',
      type: 'text',
    });
    expect(await call('POST', '/phones/5511955550002/read', { messageId: reply?.key.id })).toEqual({
      status: 204,
      body: undefined,
    });
    await eventually(() => clinic.statusOf(reply?.key.id ?? '') === proto.WebMessageInfo.Status.READ, 'read');

    expect((await call('POST', '/phones/5511944440002/devices/1/logout')).status).toBe(204);
    await eventually(() => clinic.log.closes.includes(401), 'companion logged out');
    expect((await call('POST', '/phones/5511944440002/devices/1/logout')).body.error.code).toBe(
      'device_not_found',
    );
  });
});
