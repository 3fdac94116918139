// Puts correct, native curve25519 operations under an unmodified Baileys, process-wide:
//
// - `Curve.verify` (Baileys' certificate-chain and ADV account-signature checks) becomes a real
//   XEdDSA verification on node:crypto: rc14's returns true for any well-formed input.
// - curve25519-js's `verify`, which libsignal calls for sender-key (group) messages, becomes the same
//   native verification (its answers were right, but it costs ~10 ms of pure-JS arithmetic).
// - `Curve.sharedKey` becomes native X25519 on raw keys, and records the keys the Noise handshake
//   agrees with, so the certificate check below knows the server's static key.
// - `proto.CertChain.decode`, which Baileys' noise handler calls once per handshake right after
//   mixing in the server static key, verifies the whole chain (see certificate-chain.ts) and throws
//   when it is refused, which fails the handshake the way Baileys' own chain errors do.
//
// Every patch is a property of an object Baileys and libsignal read at call time (`Curve.verify`,
// `proto.CertChain.decode`, `curveJs.verify`), checked against the compiled rc14 sources; signing
// stays in curve25519-js (node:crypto cannot sign with a raw XEdDSA scalar).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Curve, proto, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import {
  CertificateChainError,
  type ChainFailure,
  type DecodedCertChain,
  verifyCertificateChain,
} from './certificate-chain.ts';
import { x25519SharedKey } from './x25519.ts';
import { verifyXEdDSA } from './xeddsa.ts';

export interface NativeCurveOptions {
  /**
   * `enforce` (default): a handshake whose certificate chain is refused fails. `observe`: the
   * chain is checked and counted, and the handshake goes on.
   */
  readonly certificateChain?: 'enforce' | 'observe';
  /** Clock for the validity window, in Unix milliseconds; tests move it. */
  readonly now?: () => number;
}

export interface NativeCurveStatus {
  readonly certificateChain: 'enforce' | 'observe';
  readonly chainsAccepted: number;
  readonly chainsRefused: number;
  readonly lastRefusal?: ChainFailure;
}

interface Agreement {
  /** A digest of our private key: enough to tell two agreements share it, without keeping it. */
  readonly privateKeyTag: string;
  readonly publicKey: Uint8Array;
}

interface InstalledState {
  options: Required<NativeCurveOptions>;
  chainsAccepted: number;
  chainsRefused: number;
  lastRefusal?: ChainFailure;
  /** The two most recent `Curve.sharedKey` calls, newest last. */
  agreements: Agreement[];
}

// A global symbol on Baileys' own object, so a second copy of this module (another import path, a
// test worker re-importing) finds the patches already there instead of wrapping them again.
const INSTALLED = Symbol.for('clinic-wa.runner.native-curve');

const DEFAULT_OPTIONS: Required<NativeCurveOptions> = { certificateChain: 'enforce', now: Date.now };

/**
 * Installs the native curve and the certificate-chain check (idempotent: a later call only updates
 * the options). Call before creating sockets.
 */
export function installNativeCurve(options: NativeCurveOptions = {}): NativeCurveStatus {
  const existing = installedState();
  if (existing) {
    existing.options = { ...existing.options, ...options };
    return nativeCurveStatus();
  }
  const state: InstalledState = {
    options: { ...DEFAULT_OPTIONS, ...options },
    chainsAccepted: 0,
    chainsRefused: 0,
    agreements: [],
  };

  Curve.verify = (publicKey, message, signature) => verifyXEdDSA(publicKey, message, signature);
  Curve.sharedKey = (privateKey, publicKey) => {
    const shared = x25519SharedKey(privateKey, publicKey) as Buffer<ArrayBuffer>;
    const agreement = { privateKeyTag: keyTag(privateKey), publicKey: Buffer.from(publicKey) };
    state.agreements = [state.agreements.at(-1), agreement].filter(
      (recorded): recorded is Agreement => recorded !== undefined,
    );
    return shared;
  };

  const curveJs = libsignalCurve25519();
  curveJs.verify = (publicKey, message, signature) => verifyXEdDSA(publicKey, message, signature);

  const decodeChain = proto.CertChain.decode.bind(proto.CertChain);
  proto.CertChain.decode = (reader, length) => {
    const chain = decodeChain(reader, length);
    const serverStatic = takeServerStatic(state);
    const verdict = verifyCertificateChain(chain as DecodedCertChain, serverStatic, {
      rootPublicKey: WA_CERT_DETAILS.PUBLIC_KEY,
      rootSerial: WA_CERT_DETAILS.SERIAL,
      now: state.options.now(),
    });
    if (verdict.valid) {
      state.chainsAccepted += 1;
      return chain;
    }
    state.chainsRefused += 1;
    state.lastRefusal = verdict.reason;
    if (state.options.certificateChain === 'enforce') throw new CertificateChainError(verdict.reason);
    return chain;
  };

  Object.defineProperty(Curve, INSTALLED, { value: state, enumerable: false });
  return nativeCurveStatus();
}

/** Counters of the certificate-chain check; throws before `installNativeCurve()` has run. */
export function nativeCurveStatus(): NativeCurveStatus {
  const state = installedState();
  if (!state) throw new Error('installNativeCurve() has not been called in this process');
  return {
    certificateChain: state.options.certificateChain,
    chainsAccepted: state.chainsAccepted,
    chainsRefused: state.chainsRefused,
    ...(state.lastRefusal ? { lastRefusal: state.lastRefusal } : {}),
  };
}

export function isNativeCurveInstalled(): boolean {
  return installedState() !== undefined;
}

function installedState(): InstalledState | undefined {
  return (Curve as unknown as Record<symbol, InstalledState | undefined>)[INSTALLED];
}

/**
 * The server static key of the handshake being processed. Baileys' `processHandshake` runs, with no
 * await in between: DH(e, server ephemeral), DH(e, server static), decrypt, `CertChain.decode`. So
 * the two latest agreements share our ephemeral private key, and the latest is with the static key.
 * Anything else (a Baileys that changed the order) yields undefined, which the check refuses.
 */
function takeServerStatic(state: InstalledState): Uint8Array | undefined {
  const [ephemeral, withStatic] = state.agreements;
  state.agreements = [];
  if (!ephemeral || !withStatic) return undefined;
  if (ephemeral.privateKeyTag !== withStatic.privateKeyTag) return undefined;
  if (Buffer.from(ephemeral.publicKey).equals(Buffer.from(withStatic.publicKey))) return undefined;
  return withStatic.publicKey;
}

function keyTag(privateKey: Uint8Array): string {
  return createHash('sha256').update('clinic-wa agreement').update(privateKey).digest('base64');
}

interface Curve25519Js {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * The curve25519-js module instance libsignal itself loaded: resolved the way Node resolves it for
 * Baileys → libsignal → curve25519-js, whatever the hoisting.
 */
function libsignalCurve25519(): Curve25519Js {
  const fromBaileys = createRequire(createRequire(import.meta.url).resolve('@whiskeysockets/baileys'));
  const fromLibsignal = createRequire(fromBaileys.resolve('libsignal/src/curve.js'));
  return fromLibsignal('curve25519-js') as Curve25519Js;
}
