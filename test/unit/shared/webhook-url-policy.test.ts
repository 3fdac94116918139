import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  checkWebhookUrl,
  pinnedLookup,
  resolveWebhookTarget,
  STRICT_WEBHOOK_URL_POLICY,
} from '#shared/net/webhook-url-policy.ts';

const strict = STRICT_WEBHOOK_URL_POLICY;
const local = { allowLoopback: true };

/** A resolver answering from a table, as DNS would. */
const dns =
  (table: Record<string, string[]>) =>
  async (hostname: string): Promise<LookupAddress[]> => {
    const addresses = table[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

const resolver = dns({
  'hooks.clinic.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'rebind.example': ['93.184.215.14', '10.0.0.5'],
  'loopy.example': ['127.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'ula.example': ['fd00:ec2::254'],
});

describe('the webhook URL policy', () => {
  it.each([
    ['http://93.184.215.14/hook', 'webhook_url_not_https'],
    ['ftp://93.184.215.14/hook', 'webhook_url_not_https'],
    ['https://user:pass@93.184.215.14/hook', 'webhook_url_invalid'],
    ['not a url', 'webhook_url_invalid'],
    ['https://127.0.0.1/hook', 'webhook_url_forbidden'],
    ['https://127.1/hook', 'webhook_url_forbidden'],
    ['https://2130706433/hook', 'webhook_url_forbidden'],
    ['https://10.1.2.3/hook', 'webhook_url_forbidden'],
    ['https://172.16.0.1/hook', 'webhook_url_forbidden'],
    ['https://192.168.1.1/hook', 'webhook_url_forbidden'],
    ['https://169.254.169.254/latest/meta-data', 'webhook_url_forbidden'],
    ['https://100.64.0.1/hook', 'webhook_url_forbidden'],
    ['https://224.0.0.1/hook', 'webhook_url_forbidden'],
    ['https://0.0.0.0/hook', 'webhook_url_forbidden'],
    ['https://[::1]/hook', 'webhook_url_forbidden'],
    ['https://[fe80::1]/hook', 'webhook_url_forbidden'],
    ['https://[fd00:ec2::254]/hook', 'webhook_url_forbidden'],
    ['https://[fc00::1]/hook', 'webhook_url_forbidden'],
    ['https://[::ffff:127.0.0.1]/hook', 'webhook_url_forbidden'],
    ['https://[::ffff:8.8.8.8]/hook', 'webhook_url_forbidden'],
    ['https://[64:ff9b::a9fe:a9fe]/hook', 'webhook_url_forbidden'],
  ])('refuses %s (%s) before resolving anything', async (url, code) => {
    expect(checkWebhookUrl(url, strict)).toMatchObject({ ok: false, code });
    const unreachable = async () => {
      throw new Error('must not resolve');
    };
    expect(await resolveWebhookTarget(url, strict, unreachable)).toMatchObject({ ok: false, code });
  });

  it.each([
    ['https://loopy.example/hook', 'webhook_url_forbidden', /127\.0\.0\.1/],
    ['https://metadata.example/hook', 'webhook_url_forbidden', /169\.254\.169\.254/],
    ['https://ula.example/hook', 'webhook_url_forbidden', /fd00:ec2::254/],
    ['https://rebind.example/hook', 'webhook_url_forbidden', /10\.0\.0\.5/],
    ['https://nowhere.example/hook', 'webhook_url_unresolvable', /nowhere\.example/],
  ])('refuses %s once resolved, when any address is not public', async (url, code, message) => {
    const result = await resolveWebhookTarget(url, strict, resolver);
    expect(result).toMatchObject({ ok: false, code });
    expect(result.ok ? '' : result.message).toMatch(message);
  });

  it('takes a name whose every address is public, and pins the connection to the first', async () => {
    const result = await resolveWebhookTarget('https://hooks.clinic.example:8443/in?x=1', strict, resolver);
    expect(result).toMatchObject({ ok: true, address: { address: '93.184.215.14', family: 4 } });
    if (!result.ok) throw new Error('refused');
    const lookup = pinnedLookup(result.address);
    const answers: unknown[] = [];
    lookup('anything.example', {}, (error, address, family) => answers.push([error, address, family]));
    lookup('anything.example', { all: true }, (error, addresses) => answers.push([error, addresses]));
    expect(answers).toEqual([
      [null, '93.184.215.14', 4],
      [null, [{ address: '93.184.215.14', family: 4 }]],
    ]);
    expect(await resolveWebhookTarget('https://8.8.8.8/hook', strict, resolver)).toMatchObject({ ok: true });
  });

  it('gives up on a resolver that does not answer', async () => {
    const silent = () => new Promise<LookupAddress[]>(() => undefined);
    const started = Date.now();
    expect(await resolveWebhookTarget('https://slow.example/', strict, silent)).toMatchObject({
      ok: false,
      code: 'webhook_url_unresolvable',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('allows http and loopback for local development only, and still nothing else private', async () => {
    expect(await resolveWebhookTarget('http://127.0.0.1:4000/hook', local, resolver)).toMatchObject({
      ok: true,
    });
    expect(await resolveWebhookTarget('http://[::1]:4000/hook', local, resolver)).toMatchObject({ ok: true });
    expect(await resolveWebhookTarget('https://loopy.example/hook', local, resolver)).toMatchObject({
      ok: true,
    });
    for (const url of [
      'http://10.0.0.1/hook',
      'http://169.254.169.254/',
      'https://[fd00:ec2::254]/',
      'https://[::ffff:127.0.0.1]/',
    ]) {
      expect(await resolveWebhookTarget(url, local, resolver), url).toMatchObject({
        ok: false,
        code: 'webhook_url_forbidden',
      });
    }
  });
});
