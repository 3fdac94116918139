import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { isLoopbackAddress, isPublicAddress } from './public-address.ts';

// Name resolution for connections the platform makes on a clinic's say-so (a media link, a webhook
// URL): every address a name resolves to is checked (a name with one public and one private address
// could be steered to either), and the socket connects only to an address that passed — so a name
// that resolves differently the second time (DNS rebinding) reaches nothing new. Node skips the
// lookup for a literal IP, so a caller checks those itself, before connecting (`checkedAddresses`
// does both).

export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

/** The system resolver, every address, in the order it gives them. */
export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/** Whether a connection to `address` (resolved from `hostname`) may be made. */
export type AddressPermit = (address: string, hostname: string) => boolean;

/** Public unicast addresses only: what every deployed stage allows. */
export const publicAddressesOnly: AddressPermit = (address) => isPublicAddress(address);

/** Public addresses and this machine's own loopback: local development and tests, never a deployed stage. */
export const publicOrLoopbackAddresses: AddressPermit = (address) =>
  isPublicAddress(address) || isLoopbackAddress(address);

/** The name resolved (or the literal IP) to an address the platform may not reach. */
export class AddressRefusedError extends Error {
  readonly code = 'ADDRESS_REFUSED';
  constructor(readonly hostname: string) {
    super(`${hostname} is or resolves to an address the platform may not reach`);
    this.name = 'AddressRefusedError';
  }
}

/** The host of a URL as resolvers and `isIP` take it: IPv6 literals without their brackets. */
export function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * The addresses of `hostname`, each checked: a literal IP is checked as it is; a name is resolved
 * and refused unless every address passes. Resolver errors (ENOTFOUND…) are rethrown as they are.
 */
export async function checkedAddresses(
  hostname: string,
  permit: AddressPermit,
  resolve: Resolve = systemResolve,
): Promise<LookupAddress[]> {
  const family = isIP(hostname);
  const addresses = family === 0 ? await resolve(hostname) : [{ address: hostname, family }];
  if (addresses.length === 0 || !addresses.every(({ address }) => permit(address, hostname))) {
    throw new AddressRefusedError(hostname);
  }
  return addresses;
}

function answer(
  addresses: readonly LookupAddress[],
  options: { all?: boolean },
  callback: Parameters<LookupFunction>[2],
): void {
  const first = addresses[0] as LookupAddress;
  if (options.all) callback(null, [...addresses]);
  else callback(null, first.address, first.family);
}

/** A socket lookup that answers `address` whatever the name: the socket goes where the check went. */
export function pinnedLookup(address: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => answer([address], options as { all?: boolean }, callback);
}

/**
 * A socket lookup that resolves the name at each connection and answers only addresses that pass
 * (all of them, for Node's happy-eyeballs `all: true`), or fails the connection with
 * `AddressRefusedError`. Literal IPs never reach a lookup: check them with `checkedAddresses`.
 */
export function checkedLookup(permit: AddressPermit, resolve: Resolve = systemResolve): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, permit, resolve).then(
      (addresses) => answer(addresses, options as { all?: boolean }, callback),
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
