import type { LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '#shared/domain/ids.ts';
import {
  deliveryIdOf,
  judgeResponse,
  newSecretValue,
  RESPONSE_EXCERPT_BYTES,
} from '#shared/domain/webhook.ts';
import { checkedLookup, publicAddressesOnly } from '#shared/net/checked-lookup.ts';
import { isLoopbackAddress } from '#shared/net/public-address.ts';
import { createWebhookSender } from '#shared/net/webhook-sender.ts';
import type { WebhookRequest } from '#shared/ports.ts';
import { type Receiver, startReceiver } from '#test/support/webhook-receiver.ts';

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(secrets: readonly string[] = [], host?: string): Promise<Receiver> {
  const started = await startReceiver(secrets, host ? { host } : {});
  receivers.push(started);
  return started;
}

const secret = newSecretValue();
const event = {
  id: newId('event'),
  type: 'message.status',
  createdAt: new Date().toISOString(),
  tenantId: newId('tenant'),
  channelId: newId('channel'),
  data: { messageId: newId('message'), status: 'delivered' },
};

function requestTo(url: string, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url,
    deliveryId: deliveryIdOf(event.id, `whk_${newId('event').slice(4)}`),
    secrets: [secret],
    body: JSON.stringify(event),
    ...overrides,
  };
}

const local = createWebhookSender({ policy: { allowLoopback: true } });

describe('the webhook sender', () => {
  it('signs each request as Standard Webhooks says: the receiver verifies it with standardwebhooks', async () => {
    const clinic = await receiver([secret]);
    const request = requestTo(clinic.url);
    const result = await local.send(request);

    expect(result).toMatchObject({ statusCode: 200, error: null, responseExcerpt: 'ok', retryAfter: null });
    const [received] = clinic.requests;
    expect(received?.method).toBe('POST');
    expect(received?.verifiedWith).toEqual([true]);
    expect(received?.event).toEqual(event);
    expect(received?.headers['webhook-id']).toBe(request.deliveryId);
    expect(received?.headers['content-type']).toBe('application/json');
    expect(Number(received?.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('signs with every valid secret during a rotation, so each verifies alone', async () => {
    const previous = newSecretValue();
    const current = newSecretValue();
    const stranger = newSecretValue();
    const clinic = await receiver([current, previous, stranger]);
    await local.send(requestTo(clinic.url, { secrets: [current, previous] }));

    const [received] = clinic.requests;
    expect(received?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(received?.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(received?.verifiedWith).toEqual([true, true, false]);
  });

  it('keeps the same webhook-id on every try, with a fresh timestamp and signature', async () => {
    const clinic = await receiver([secret]);
    let now = new Date('2030-01-01T00:00:00Z');
    const sender = createWebhookSender({ policy: { allowLoopback: true }, now: () => now });
    const request = requestTo(clinic.url);
    await sender.send(request);
    now = new Date('2030-01-01T00:05:00Z');
    await sender.send(request);

    const [first, second] = clinic.requests;
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id']);
    expect(Number(second?.headers['webhook-timestamp']) - Number(first?.headers['webhook-timestamp'])).toBe(
      300,
    );
    expect(first?.headers['webhook-signature']).not.toBe(second?.headers['webhook-signature']);
  });

  it('does not follow a redirect, not even one to the metadata service', async () => {
    const elsewhere = await receiver();
    const clinic = await receiver([secret]);
    clinic.answer((_request, response) => {
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    });
    const toMetadata = await local.send(requestTo(clinic.url));
    clinic.answer((_request, response) => {
      response.writeHead(307, { location: elsewhere.url }).end();
    });
    const toAnother = await local.send(requestTo(clinic.url));

    expect(toMetadata).toMatchObject({ statusCode: 302, error: null });
    expect(toAnother).toMatchObject({ statusCode: 307, error: null });
    expect(judgeResponse(302, null, new Date())).toMatchObject({ outcome: 'retry', error: 'redirect_302' });
    expect(clinic.requests).toHaveLength(2);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('gives up on a receiver that has not answered by the deadline (scaled: 20 s against 15 s)', async () => {
    const clinic = await receiver([secret]);
    clinic.answer(async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 20 * 25));
      response.writeHead(200).end();
    });
    const sender = createWebhookSender({ policy: { allowLoopback: true }, timeoutMs: 15 * 25 });
    const result = await sender.send(requestTo(clinic.url));

    expect(result).toMatchObject({ statusCode: null, error: 'timeout', responseExcerpt: null });
    expect(result.latencyMs).toBeGreaterThanOrEqual(15 * 25 - 5);
    expect(result.latencyMs).toBeLessThan(20 * 25);
  });

  it('bounds the whole exchange by the deadline, a trickling body included', async () => {
    const clinic = await receiver([secret]);
    clinic.answer((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      const drip = setInterval(() => response.write('.'), 20);
      response.on('close', () => clearInterval(drip));
    });
    const sender = createWebhookSender({ policy: { allowLoopback: true }, timeoutMs: 300 });
    const started = Date.now();
    const result = await sender.send(requestTo(clinic.url));

    expect(Date.now() - started).toBeLessThan(1_000);
    // The status came within the deadline: it is the answer; the body is what came of it by then.
    expect(result.statusCode).toBe(500);
    expect(result.responseExcerpt).toMatch(/^\.+$/);
  });

  it('reads no more of the body than its excerpt, and stops there without waiting for the end', async () => {
    const clinic = await receiver([secret]);
    let closedAfter = -1;
    clinic.answer((_request, response) => {
      response.writeHead(503, { 'retry-after': '120' });
      // A character of two bytes across the excerpt's end, then a body that never ends.
      response.write(`${'a'.repeat(RESPONSE_EXCERPT_BYTES - 1)}é${'b'.repeat(100)}`);
      let written = 0;
      const flood = setInterval(() => {
        written++;
        response.write(Buffer.alloc(16_384, 'c'));
      }, 5);
      response.on('close', () => {
        closedAfter = written;
        clearInterval(flood);
      });
    });
    const result = await local.send(requestTo(clinic.url));

    expect(result.statusCode).toBe(503);
    expect(result.retryAfter).toBe('120');
    expect(result.responseExcerpt).toBe('a'.repeat(RESPONSE_EXCERPT_BYTES - 1));
    await clinic.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closedAfter).toBeGreaterThanOrEqual(0);
    expect(closedAfter).toBeLessThan(20);
  });

  it('answers a failure it can name, never throwing', async () => {
    const clinic = await receiver([secret]);
    const url = new URL(clinic.url);
    await clinic.close();
    const refused = await local.send(requestTo(url.toString()));
    expect(refused).toMatchObject({ statusCode: null, error: 'connection_refused' });

    const reset = await receiver([secret]);
    reset.answer((_request, response) => {
      response.socket?.destroy();
    });
    expect((await local.send(requestTo(reset.url))).error).toBe('connection_reset');
    expect((await local.send(requestTo('not a url'))).error).toBe('url_refused');
    expect((await local.send(requestTo(reset.url, { secrets: [] }))).error).toBe('no_signing_secret');
  });
});

describe('the webhook sender in a deployed stage', () => {
  const deployed = createWebhookSender();

  it('takes https only, and no credentials in the URL', async () => {
    const clinic = await receiver([secret]);
    expect((await deployed.send(requestTo(clinic.url))).error).toBe('url_refused');
    for (const url of [
      'ftp://example.com/hook',
      'https://user:pass@example.com/hook',
      'file:///etc/passwd',
    ]) {
      expect((await deployed.send(requestTo(url))).error).toBe('url_refused');
    }
    expect(clinic.requests).toHaveLength(0);
  });

  it.each([
    'https://127.0.0.1/hook',
    'https://127.1.2.3:8443/hook',
    'https://10.0.0.8/hook',
    'https://172.16.5.4/hook',
    'https://192.168.1.1/hook',
    'https://100.64.0.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://0.0.0.0/hook',
    'https://224.0.0.1/hook',
    'https://[::1]/hook',
    'https://[fd00:ec2::254]/hook',
    'https://[fd12:3456::1]/hook',
    'https://[fe80::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::ffff:169.254.169.254]/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
    'https://2130706433/hook', // 127.0.0.1 as one number: the URL parser makes it an address
  ])('refuses the literal address of %s before connecting', async (url) => {
    const result = await deployed.send(requestTo(url));
    expect(result).toMatchObject({ statusCode: null, error: 'address_refused' });
    expect(result.latencyMs).toBeLessThan(100);
  });

  it('refuses a name that resolves to loopback, checking the address the socket would connect to', async () => {
    const clinic = await receiver([secret]);
    const port = new URL(clinic.url).port;
    const resolved: string[] = [];
    const sender = createWebhookSender({
      resolve: async (hostname) => {
        resolved.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const result = await sender.send(requestTo(`https://clinic.example:${port}/hook`));

    expect(result).toMatchObject({ statusCode: null, error: 'address_refused' });
    expect(resolved).toEqual(['clinic.example']);
    expect(clinic.requests).toHaveLength(0);
  });

  it.each([
    [['169.254.169.254']],
    [['fd00:ec2::254']],
    [['::ffff:10.0.0.1']],
    // One public address among them is not enough: the socket could be steered to the other.
    [['93.184.215.14', '10.0.0.1']],
  ])('refuses a name that resolves to %j', async (addresses) => {
    const sender = createWebhookSender({
      resolve: async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    });
    expect((await sender.send(requestTo('https://rebind.example/hook'))).error).toBe('address_refused');
  });

  it('refuses localhost by its real resolution', async () => {
    expect((await deployed.send(requestTo('https://localhost/hook'))).error).toBe('address_refused');
  });
});

describe('the checked lookup (DNS rebinding)', () => {
  it('resolves once per connection and connects to the address it checked, not to a second answer', async () => {
    const clinic = await receiver();
    const port = Number(new URL(clinic.url).port);
    const answers: LookupAddress[][] = [
      [{ address: '127.0.0.1', family: 4 }],
      [{ address: '127.0.0.2', family: 4 }],
    ];
    let resolutions = 0;
    // Only 127.0.0.1 passes here: a lookup asked twice per connection (check, then connect) would
    // connect to 127.0.0.2, which was never checked.
    const lookup = checkedLookup(
      (address) => address === '127.0.0.1',
      async () => answers[resolutions++] ?? [],
    );
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest({ host: 'clinic.example', port, path: '/', lookup }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(200);
    expect(resolutions).toBe(1);
  });

  it('fails the connection when the only answer is refused', async () => {
    const lookup = checkedLookup(publicAddressesOnly, async () => [{ address: '127.0.0.1', family: 4 }]);
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const request = httpRequest({ host: 'clinic.example', port: 9, path: '/', lookup }, () => {});
      request.on('error', resolve);
      request.end();
    });
    expect(error.code).toBe('ADDRESS_REFUSED');
  });

  it('knows loopback addresses in every form', () => {
    for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopbackAddress(address)).toBe(true);
    }
    for (const address of ['10.0.0.1', '::2', 'localhost', ''])
      expect(isLoopbackAddress(address)).toBe(false);
  });
});
