import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentCommandError } from '#runner/command-handler.ts';
import { createLinkFetcher, DEFAULT_LINK_FETCH_POLICY } from '#runner/messages/link-fetcher.ts';

let server: Server | undefined;
afterEach(() => server?.closeAllConnections());

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const local = {
  ...DEFAULT_LINK_FETCH_POLICY,
  plainHttpAllowed: true,
  privateHostsAllowed: new Set(['127.0.0.1']),
};

async function failure(promise: Promise<unknown>): Promise<PermanentCommandError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentCommandError);
  return error as PermanentCommandError;
}

describe('media links', () => {
  it('gives up on a server that trickles its body, at the deadline of the whole download', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const drip = setInterval(() => response.write(Buffer.alloc(1)), 50);
      response.on('close', () => clearInterval(drip));
    });
    const fetchLink = createLinkFetcher({ ...local, timeoutMs: 400, attempts: 2 });
    expect((await failure(fetchLink(`${url}/slow.jpg`))).code).toBe('media_link_unavailable');
  });

  it('fails at once, without retrying for a day, a link that keeps answering 503', async () => {
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      response.writeHead(503).end();
    });
    expect((await failure(createLinkFetcher(local)(`${url}/x.jpg`))).code).toBe('media_link_unavailable');
    expect(requests).toBe(DEFAULT_LINK_FETCH_POLICY.attempts);
  });

  it('takes only https on port 443 in production', async () => {
    const fetchLink = createLinkFetcher();
    for (const link of [
      'http://example.com/a.jpg',
      'https://example.com:8443/a.jpg',
      'ftp://example.com/a',
      'https://u:p@example.com/a',
    ]) {
      expect((await failure(fetchLink(link))).code).toBe('media_link_invalid');
    }
  });
});
