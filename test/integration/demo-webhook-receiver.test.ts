// The demo's webhook receiver over real HTTP on loopback: only what `standardwebhooks` verifies with
// the webhook's secret is accepted, and only a documented event is recorded, once per event id.

import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_EXAMPLES } from '#functions/http/event-schemas.ts';
import { type DemoReceiver, startDemoReceiver } from '#infra/local/demo/webhook-receiver.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

let receiver: DemoReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** A request as the dispatcher makes it: the body signed with `secret` (none: unsigned). */
async function deliver(url: string, body: string, secret?: string, deliveryId = 'dlv_demo') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) {
    const at = new Date();
    headers['webhook-id'] = deliveryId;
    headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
    headers['webhook-signature'] = new Webhook(secret).sign(deliveryId, at, body);
  }
  const response = await fetch(url, { method: 'POST', headers, body });
  return response.status;
}

describe("the demo's webhook receiver", () => {
  const event = EVENT_EXAMPLES['message.received'];
  const body = JSON.stringify(event);

  it('refuses every request before it knows the secret', async () => {
    receiver = await startDemoReceiver();
    expect(await deliver(receiver.url, body, SECRET)).toBe(401);
    expect(receiver.rejected.map((rejected) => rejected.reason)).toEqual([
      'no secret yet: the webhook does not exist',
    ]);
    expect(receiver.verified).toEqual([]);
  });

  it('refuses unsigned, wrongly signed, tampered and stale requests with 401', async () => {
    receiver = await startDemoReceiver();
    receiver.trust(SECRET);
    expect(await deliver(receiver.url, body)).toBe(401);
    expect(await deliver(receiver.url, body, OTHER_SECRET)).toBe(401);

    const at = new Date(Date.now() - 10 * 60_000);
    const stale = await fetch(receiver.url, {
      method: 'POST',
      headers: {
        'webhook-id': 'dlv_old',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(SECRET).sign('dlv_old', at, body),
      },
      body,
    });
    expect(stale.status).toBe(401);

    const now = new Date();
    const signature = new Webhook(SECRET).sign('dlv_tampered', now, body);
    const tampered = await fetch(receiver.url, {
      method: 'POST',
      headers: {
        'webhook-id': 'dlv_tampered',
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body: body.replace('Posso remarcar', 'Pode cancelar'),
    });
    expect(tampered.status).toBe(401);

    expect(receiver.rejected).toHaveLength(4);
    expect(receiver.rejected.every((rejected) => rejected.reason.startsWith('signature refused'))).toBe(true);
    expect(receiver.verified).toEqual([]);
  });

  it('records a verified event once, however often it is delivered, and hands it to a waiter', async () => {
    receiver = await startDemoReceiver();
    receiver.trust(SECRET);
    const waited = receiver.waitFor(
      'message.received',
      (received) => received.data.messageId === event.data.messageId,
      'the example event',
      5_000,
    );
    expect(await deliver(receiver.url, body, SECRET, 'dlv_first')).toBe(204);
    expect(await deliver(receiver.url, body, SECRET, 'dlv_first')).toBe(204);
    expect(await waited).toMatchObject({ event, deliveryId: 'dlv_first' });
    expect(receiver.verified).toHaveLength(1);
    expect(receiver.duplicates).toBe(1);
    expect(receiver.rejected).toEqual([]);
  });

  it('refuses a signed body that is not a documented event with 400', async () => {
    receiver = await startDemoReceiver();
    receiver.trust(SECRET);
    const unknown = JSON.stringify({ ...event, type: 'message.deleted' });
    expect(await deliver(receiver.url, unknown, SECRET)).toBe(400);
    expect(receiver.rejected).toHaveLength(1);
    expect(receiver.verified).toEqual([]);
  });

  it('gives up waiting after the timeout, saying what it saw', async () => {
    receiver = await startDemoReceiver();
    await expect(receiver.waitFor('channel.status', () => true, 'the channel to open', 200)).rejects.toThrow(
      'the channel to open: no verified channel.status event in 0.2 s (0 verified events so far)',
    );
  });
});
