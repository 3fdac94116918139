// Verification of the Noise certificate chain a WhatsApp server sends in its handshake:
// root (pinned) → intermediate → leaf, where the leaf must certify the very static key the server
// used in the handshake. Baileys rc14 checks the two signatures with a `Curve.verify` that accepts
// anything, and never compares the leaf key with the server static key, so a replayed genuine
// chain would vouch for any server; this module does all the checks whatsmeow does, plus the
// validity window.
import { proto } from '@whiskeysockets/baileys';
import { verifyXEdDSA } from './xeddsa.ts';

/** A `proto.CertChain` as decoded by protobufjs: every part may be missing. */
export interface DecodedCertChain {
  readonly intermediate?: DecodedNoiseCertificate | null;
  readonly leaf?: DecodedNoiseCertificate | null;
}

export interface DecodedNoiseCertificate {
  readonly details?: Uint8Array | null;
  readonly signature?: Uint8Array | null;
}

export interface CertificateDetails {
  readonly serial: number;
  readonly issuerSerial: number;
  readonly key: Uint8Array;
  /** Unix seconds; 0 when the certificate has no lower bound. */
  readonly notBefore: number;
  /** Unix seconds; 0 when the certificate has no upper bound. */
  readonly notAfter: number;
}

export interface ChainTrust {
  /** The pinned root public key (32 bytes, or 33 with the 0x05 prefix). */
  readonly rootPublicKey: Uint8Array;
  /** The serial of the root, which the intermediate names as its issuer (WhatsApp: 0). */
  readonly rootSerial: number;
  /** Current time in Unix milliseconds. */
  readonly now: number;
  /** Tolerated clock difference with WhatsApp's servers, in seconds. */
  readonly clockSkewSeconds?: number;
}

export type ChainFailure =
  | 'missing-part'
  | 'malformed-details'
  | 'intermediate-signature'
  | 'intermediate-issuer'
  | 'intermediate-key'
  | 'leaf-signature'
  | 'leaf-issuer'
  | 'leaf-key-mismatch'
  | 'not-yet-valid'
  | 'expired'
  | 'server-static-unknown';

export type ChainVerdict =
  | { readonly valid: true; readonly intermediate: CertificateDetails; readonly leaf: CertificateDetails }
  | { readonly valid: false; readonly reason: ChainFailure };

export const DEFAULT_CLOCK_SKEW_SECONDS = 3600;

/**
 * Above this a validity bound is taken as milliseconds rather than seconds: 10^11 s is the year
 * 5138, 10^11 ms is 1973, so no real bound is ambiguous. The field's unit is not documented.
 */
const MILLISECONDS_THRESHOLD = 1e11;

/** Refusal of a server's certificate chain; shaped like Baileys' own chain errors (a 400 Boom). */
export class CertificateChainError extends Error {
  override readonly name = 'CertificateChainError';
  readonly output = { statusCode: 400 } as const;

  constructor(readonly reason: ChainFailure) {
    super(`noise certificate chain refused: ${reason}`);
  }
}

/**
 * Checks a decoded chain against the pinned root and the server static key from the handshake:
 * intermediate signed by the root and naming it as issuer, leaf signed by the intermediate's key and
 * naming the intermediate as issuer, leaf key equal to the server static key, both certificates
 * within their validity window (when they have one).
 */
export function verifyCertificateChain(
  chain: DecodedCertChain,
  serverStaticKey: Uint8Array | undefined,
  trust: ChainTrust,
): ChainVerdict {
  const intermediate = chain.intermediate;
  const leaf = chain.leaf;
  if (!intermediate?.details || !intermediate.signature || !leaf?.details || !leaf.signature) {
    return { valid: false, reason: 'missing-part' };
  }
  if (!verifyXEdDSA(trust.rootPublicKey, intermediate.details, intermediate.signature)) {
    return { valid: false, reason: 'intermediate-signature' };
  }
  const intermediateDetails = decodeDetails(intermediate.details);
  if (!intermediateDetails) return { valid: false, reason: 'malformed-details' };
  if (intermediateDetails.issuerSerial !== trust.rootSerial) {
    return { valid: false, reason: 'intermediate-issuer' };
  }
  if (intermediateDetails.key.length !== 32) return { valid: false, reason: 'intermediate-key' };
  if (!verifyXEdDSA(intermediateDetails.key, leaf.details, leaf.signature)) {
    return { valid: false, reason: 'leaf-signature' };
  }
  const leafDetails = decodeDetails(leaf.details);
  if (!leafDetails) return { valid: false, reason: 'malformed-details' };
  if (leafDetails.issuerSerial !== intermediateDetails.serial) return { valid: false, reason: 'leaf-issuer' };
  if (!serverStaticKey) return { valid: false, reason: 'server-static-unknown' };
  if (!bytesEqual(leafDetails.key, serverStaticKey)) return { valid: false, reason: 'leaf-key-mismatch' };
  const window = checkWindow([intermediateDetails, leafDetails], trust);
  if (window) return { valid: false, reason: window };
  return { valid: true, intermediate: intermediateDetails, leaf: leafDetails };
}

/** Decodes `NoiseCertificate.Details`; undefined when the bytes are not a valid message. */
export function decodeDetails(bytes: Uint8Array): CertificateDetails | undefined {
  try {
    const details = proto.CertChain.NoiseCertificate.Details.decode(bytes);
    return {
      serial: details.serial ?? 0,
      issuerSerial: details.issuerSerial ?? 0,
      key: details.key ?? new Uint8Array(0),
      notBefore: toSeconds(details.notBefore),
      notAfter: toSeconds(details.notAfter),
    };
  } catch {
    return undefined;
  }
}

function checkWindow(certificates: CertificateDetails[], trust: ChainTrust): ChainFailure | undefined {
  const nowSeconds = trust.now / 1000;
  const skew = trust.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  for (const { notBefore, notAfter } of certificates) {
    if (notBefore > 0 && nowSeconds + skew < notBefore) return 'not-yet-valid';
    if (notAfter > 0 && nowSeconds - skew > notAfter) return 'expired';
  }
  return undefined;
}

function toSeconds(value: number | { toString(): string } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const number = typeof value === 'number' ? value : Number(value.toString());
  if (!Number.isFinite(number) || number <= 0) return 0;
  return number > MILLISECONDS_THRESHOLD ? Math.floor(number / 1000) : number;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}
