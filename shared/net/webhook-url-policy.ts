import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { hostnameOf, type Resolve, systemResolve } from './checked-lookup.ts';
import { isLoopbackAddress, isPublicAddress } from './public-address.ts';

// Where a webhook may point: one rule for the API, which checks a URL when a clinic sets it, and the
// dispatcher, which checks it again at every connection (a name can resolve elsewhere tomorrow).
//
// - `https:` only, no credentials in the URL; any port.
// - Every address the name resolves to must be a public unicast one (shared/net/public-address.ts:
//   no private, loopback, link-local, CGNAT, multicast, unique-local, metadata or documentation
//   ranges); an IPv4-mapped IPv6 literal (`[::ffff:10.0.0.1]`) is refused whatever it maps.
// - The connection goes to an address checked: the API pins it (`pinnedLookup`); the dispatcher
//   checks every address in the socket's own lookup at each connection (shared/net/checked-lookup.ts,
//   shared/net/webhook-sender.ts), so a second resolution cannot rebind the name to another.
// - For local development only (`WEBHOOK_ALLOW_LOOPBACK=true`, which `npm start` sets), `http:` and
//   loopback addresses (127.0.0.0/8, ::1) are allowed too: a receiver on the developer's machine.

export interface WebhookUrlPolicy {
  /** Local development: `http:` URLs and loopback addresses allowed. Never in a deployed stack. */
  readonly allowLoopback: boolean;
}

export const STRICT_WEBHOOK_URL_POLICY: WebhookUrlPolicy = { allowLoopback: false };

/** Why a URL is refused, as the API's error code (422) and the dispatcher's attempt error. */
export type WebhookUrlRefusalCode =
  | 'webhook_url_not_https'
  | 'webhook_url_invalid'
  | 'webhook_url_forbidden'
  | 'webhook_url_unresolvable';

export interface WebhookUrlRefusal {
  readonly ok: false;
  readonly code: WebhookUrlRefusalCode;
  readonly message: string;
}

export type WebhookUrlCheck = { readonly ok: true; readonly url: URL } | WebhookUrlRefusal;
export type WebhookTargetCheck =
  | { readonly ok: true; readonly url: URL; readonly address: LookupAddress }
  | WebhookUrlRefusal;

export { pinnedLookup, type Resolve } from './checked-lookup.ts';

/** A resolver that has not answered by then is taken as no answer. */
export const RESOLVE_TIMEOUT_MS = 3_000;

const refuse = (code: WebhookUrlRefusalCode, message: string): WebhookUrlRefusal => ({
  ok: false,
  code,
  message,
});

/** Whether the policy lets a connection go to this address. */
export function isAllowedWebhookAddress(address: string, policy: WebhookUrlPolicy): boolean {
  return isPublicAddress(address) || (policy.allowLoopback && isLoopbackAddress(address));
}

/** What can be told without resolving the name: the scheme, credentials, and an address written in. */
export function checkWebhookUrl(value: string, policy: WebhookUrlPolicy): WebhookUrlCheck {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse('webhook_url_invalid', 'url is not an absolute URL');
  }
  const schemes = policy.allowLoopback ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol))
    return refuse('webhook_url_not_https', `url must be an https URL, not ${url.protocol.replace(':', '')}`);
  if (url.username || url.password)
    return refuse('webhook_url_invalid', 'url must not carry a user name or password');
  const host = hostnameOf(url);
  // The URL parser writes an IPv4-mapped address in hex (`::ffff:a00:1`): one form to recognise.
  if (isIP(host) === 6 && /^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(host))
    return refuse('webhook_url_forbidden', 'url must not be an IPv4-mapped IPv6 address');
  if (isIP(host) !== 0 && !isAllowedWebhookAddress(host, policy))
    return refuse('webhook_url_forbidden', `url points to ${host}, an address the platform may not reach`);
  return { ok: true, url };
}

/**
 * The whole check: the URL, then every address its host resolves to. The address to connect to
 * comes back with it: connect there (`pinnedLookup`), not to whatever the name resolves to next.
 */
export async function resolveWebhookTarget(
  value: string,
  policy: WebhookUrlPolicy,
  resolve: Resolve = systemResolve,
): Promise<WebhookTargetCheck> {
  const checked = checkWebhookUrl(value, policy);
  if (!checked.ok) return checked;
  const host = hostnameOf(checked.url);
  const family = isIP(host);
  if (family !== 0) return { ok: true, url: checked.url, address: { address: host, family } };
  let addresses: LookupAddress[];
  try {
    addresses = await withTimeout(resolve(host), RESOLVE_TIMEOUT_MS);
  } catch {
    return refuse('webhook_url_unresolvable', `url names ${host}, which does not resolve`);
  }
  if (addresses.length === 0)
    return refuse('webhook_url_unresolvable', `url names ${host}, which does not resolve`);
  // Every address must pass: a name with one public and one private address could be steered to either.
  const refused = addresses.find(({ address }) => !isAllowedWebhookAddress(address, policy));
  if (refused) {
    return refuse(
      'webhook_url_forbidden',
      `url names ${host}, which resolves to ${refused.address}, an address the platform may not reach`,
    );
  }
  return { ok: true, url: checked.url, address: addresses[0] as LookupAddress };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
