import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  AddressRefusedError,
  checkedAddresses,
  hostnameOf,
  pinnedLookup,
  type Resolve,
  systemResolve,
} from '#shared/net/checked-lookup.ts';
import { isPublicAddress } from '#shared/net/public-address.ts';
import { PermanentCommandError } from '../command-handler.ts';

// Media a clinic sends by `link`: the runner downloads it. A link is the clinic's input, so the
// download may only reach public addresses (shared/net/public-address.ts) over HTTPS on port 443
// (the runner's only egress), checked on the address actually connected to — the name is resolved
// once, every address checked, and the socket pinned to the first (shared/net/checked-lookup.ts), so
// a name that resolves differently the second time (DNS rebinding) reaches nothing new. Redirects
// are followed a few times, each checked the same way; the body is capped while it streams and the
// whole download has a deadline. A link that fails twice fails its message: the channel's next
// messages must not wait a day behind it.

export interface LinkFetchPolicy {
  readonly maxBytes: number;
  /** For the whole download, redirects and body included. */
  readonly timeoutMs: number;
  /** Tries of a download that failed for a reason that may pass (5xx, 429, the network). */
  readonly attempts: number;
  /** `http:` and other ports allowed too (tests serving files from this machine). */
  readonly plainHttpAllowed: boolean;
  readonly maxRedirects: number;
  /** Host names that may resolve to non-public addresses (a test's media server, an on-premises store). */
  readonly privateHostsAllowed: ReadonlySet<string>;
}

export const DEFAULT_LINK_FETCH_POLICY: LinkFetchPolicy = {
  // Held in memory while it is sent; larger files go through POST /v1/media/uploads.
  maxBytes: 16 * 1024 * 1024,
  timeoutMs: 30_000,
  attempts: 2,
  plainHttpAllowed: false,
  maxRedirects: 3,
  privateHostsAllowed: new Set(),
};

export function createLinkFetcher(
  policy: LinkFetchPolicy = DEFAULT_LINK_FETCH_POLICY,
  resolve = systemResolve,
) {
  const once = async (link: string, signal: AbortSignal): Promise<{ data: Buffer; mimeType: string }> => {
    let url = parseLink(link, policy);
    for (let redirects = 0; ; redirects++) {
      const address = await checkedAddress(url, policy, resolve);
      const response = await get(url, address, policy, signal);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (redirects >= policy.maxRedirects)
          throw new PermanentCommandError('media_link_unavailable', 'The media link redirects too often');
        url = parseLink(new URL(response.headers.location, url).toString(), policy);
        continue;
      }
      if (status >= 500 || status === 429) {
        response.resume();
        throw new Error(`The media link answered ${status}`);
      }
      if (status < 200 || status >= 300) {
        response.resume();
        throw new PermanentCommandError('media_link_unavailable', `The media link answered ${status}`);
      }
      return { data: await cappedBody(response, policy.maxBytes), mimeType: mediaTypeOf(response) };
    }
  };
  return async function fetchLink(link: string): Promise<{ data: Buffer; mimeType: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(link, AbortSignal.timeout(policy.timeoutMs));
      } catch (error) {
        if (error instanceof PermanentCommandError) throw error;
        if (attempt >= policy.attempts) {
          throw new PermanentCommandError(
            'media_link_unavailable',
            `The media link could not be downloaded: ${(error as Error).message}`,
          );
        }
      }
    }
  };
}

function parseLink(link: string, policy: LinkFetchPolicy): URL {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new PermanentCommandError('media_link_invalid', 'The media link is not a URL');
  }
  const https = url.protocol === 'https:' && (url.port === '' || url.port === '443');
  const allowed = https || (policy.plainHttpAllowed && url.protocol === 'http:');
  if (!allowed || url.username || url.password) {
    throw new PermanentCommandError(
      'media_link_invalid',
      'The media link must be an https URL on port 443, without credentials',
    );
  }
  return url;
}

async function checkedAddress(url: URL, policy: LinkFetchPolicy, resolve: Resolve): Promise<LookupAddress> {
  const hostname = hostnameOf(url);
  const permit = (address: string) => policy.privateHostsAllowed.has(hostname) || isPublicAddress(address);
  try {
    return (await checkedAddresses(hostname, permit, resolve))[0] as LookupAddress;
  } catch (error) {
    if (error instanceof AddressRefusedError) {
      throw new PermanentCommandError(
        'media_link_forbidden',
        'The media link points to an address the platform may not reach',
      );
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND')
      throw new PermanentCommandError('media_link_unavailable', 'The media link names no known host');
    throw error;
  }
}

function get(
  url: URL,
  address: LookupAddress,
  policy: LinkFetchPolicy,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const pinned = pinnedLookup(address);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { lookup: pinned, timeout: policy.timeoutMs, signal, headers: { 'user-agent': 'clinic-wa' } },
      resolve,
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('The media link timed out')));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function cappedBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new PermanentCommandError('media_link_too_large', `The linked file is larger than ${maxBytes} bytes`);
  if (Number(response.headers['content-length'] ?? 0) > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function mediaTypeOf(response: IncomingMessage): string {
  const type = response.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type && /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream';
}
