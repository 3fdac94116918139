import { Curve, type KeyPair, proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import {
  type ChainTrust,
  type DecodedCertChain,
  verifyCertificateChain,
} from '#runner/crypto/certificate-chain.ts';

const NOW = Date.parse('2026-11-29T03:00:00Z');
const NOW_SECONDS = NOW / 1000;
const DAY = 86_400;

interface DetailsInput {
  serial?: number;
  issuerSerial?: number;
  key?: Uint8Array;
  notBefore?: number;
  notAfter?: number;
}

interface ChainInput {
  root?: KeyPair;
  intermediateSigner?: KeyPair;
  intermediate?: DetailsInput;
  leafSigner?: KeyPair;
  leaf?: DetailsInput;
}

/** A chain shaped like WhatsApp's: root (serial 0) → intermediate (serial 1) → leaf (server static). */
function buildChain(input: ChainInput = {}) {
  const root = input.root ?? Curve.generateKeyPair();
  const intermediateKeys = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediateKeys.public,
    ...input.intermediate,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
    ...input.leaf,
  }).finish();
  const chain: DecodedCertChain = proto.CertChain.decode(
    proto.CertChain.encode({
      intermediate: {
        details: intermediateDetails,
        signature: Curve.sign((input.intermediateSigner ?? root).private, intermediateDetails),
      },
      leaf: {
        details: leafDetails,
        signature: Curve.sign((input.leafSigner ?? intermediateKeys).private, leafDetails),
      },
    }).finish(),
  );
  const trust: ChainTrust = { rootPublicKey: root.public, rootSerial: 0, now: NOW };
  return { chain, trust, root, intermediateKeys, serverStatic };
}

describe('verifyCertificateChain', () => {
  it('accepts a chain from the pinned root whose leaf certifies the server static key', () => {
    const { chain, trust, serverStatic, intermediateKeys } = buildChain({
      intermediate: { notBefore: NOW_SECONDS - DAY, notAfter: NOW_SECONDS + 365 * DAY },
      leaf: { notBefore: NOW_SECONDS - DAY, notAfter: NOW_SECONDS + 30 * DAY },
    });

    const verdict = verifyCertificateChain(chain, serverStatic.public, trust);

    expect(verdict).toMatchObject({
      valid: true,
      intermediate: { serial: 1, issuerSerial: 0, notAfter: NOW_SECONDS + 365 * DAY },
      leaf: { serial: 2, issuerSerial: 1, notBefore: NOW_SECONDS - DAY },
    });
    if (verdict.valid) {
      expect(Buffer.from(verdict.intermediate.key).equals(intermediateKeys.public)).toBe(true);
      expect(Buffer.from(verdict.leaf.key).equals(serverStatic.public)).toBe(true);
    }
  });

  it('accepts the pinned root with libsignal’s 0x05 prefix', () => {
    const { chain, trust, serverStatic } = buildChain();
    const prefixed = { ...trust, rootPublicKey: Buffer.concat([Buffer.from([5]), trust.rootPublicKey]) };
    expect(verifyCertificateChain(chain, serverStatic.public, prefixed).valid).toBe(true);
  });

  it('refuses an intermediate signed by another root', () => {
    const { chain, trust, serverStatic } = buildChain({ intermediateSigner: Curve.generateKeyPair() });
    expect(verifyCertificateChain(chain, serverStatic.public, trust)).toEqual({
      valid: false,
      reason: 'intermediate-signature',
    });
  });

  it('refuses a leaf not signed by the intermediate', () => {
    const { chain, trust, serverStatic } = buildChain({ leafSigner: Curve.generateKeyPair() });
    expect(verifyCertificateChain(chain, serverStatic.public, trust)).toEqual({
      valid: false,
      reason: 'leaf-signature',
    });
  });

  it('refuses a genuine chain presented with another static key (a replayed chain)', () => {
    const { chain, trust } = buildChain();
    const impostor = Curve.generateKeyPair();
    expect(verifyCertificateChain(chain, impostor.public, trust)).toEqual({
      valid: false,
      reason: 'leaf-key-mismatch',
    });
    expect(verifyCertificateChain(chain, undefined, trust)).toEqual({
      valid: false,
      reason: 'server-static-unknown',
    });
  });

  it('refuses mismatched issuer serials', () => {
    const wrongRoot = buildChain({ intermediate: { issuerSerial: 7 } });
    expect(verifyCertificateChain(wrongRoot.chain, wrongRoot.serverStatic.public, wrongRoot.trust)).toEqual({
      valid: false,
      reason: 'intermediate-issuer',
    });
    const wrongIntermediate = buildChain({ leaf: { issuerSerial: 9 } });
    expect(
      verifyCertificateChain(
        wrongIntermediate.chain,
        wrongIntermediate.serverStatic.public,
        wrongIntermediate.trust,
      ),
    ).toEqual({ valid: false, reason: 'leaf-issuer' });
  });

  it('refuses an intermediate key that is not 32 bytes', () => {
    const { chain, trust, serverStatic } = buildChain({ intermediate: { key: new Uint8Array(31) } });
    expect(verifyCertificateChain(chain, serverStatic.public, trust)).toEqual({
      valid: false,
      reason: 'intermediate-key',
    });
  });

  it('checks the validity window of both certificates, in seconds or milliseconds, with clock skew', () => {
    const verdict = (input: ChainInput, skew?: number) => {
      const { chain, trust, serverStatic } = buildChain(input);
      const result = verifyCertificateChain(chain, serverStatic.public, {
        ...trust,
        ...(skew === undefined ? {} : { clockSkewSeconds: skew }),
      });
      return result.valid ? 'valid' : result.reason;
    };
    expect(verdict({ leaf: { notAfter: NOW_SECONDS - 2 * 3600 } })).toBe('expired');
    expect(verdict({ intermediate: { notAfter: NOW_SECONDS - 2 * 3600 } })).toBe('expired');
    expect(verdict({ leaf: { notBefore: NOW_SECONDS + 2 * 3600 } })).toBe('not-yet-valid');
    expect(verdict({ leaf: { notAfter: (NOW_SECONDS - 2 * 3600) * 1000 } })).toBe('expired');
    expect(verdict({ leaf: { notBefore: (NOW_SECONDS + DAY) * 1000 } })).toBe('not-yet-valid');
    // Within the default hour of tolerated skew.
    expect(verdict({ leaf: { notAfter: NOW_SECONDS - 600 } })).toBe('valid');
    expect(verdict({ leaf: { notAfter: NOW_SECONDS - 600 } }, 0)).toBe('expired');
    // No bounds (the fields are absent, as in the simulator's certificates).
    expect(verdict({})).toBe('valid');
  });

  it('refuses missing parts and undecodable details', () => {
    const { chain, trust, serverStatic, root } = buildChain();
    const withoutLeaf: DecodedCertChain = { intermediate: chain.intermediate ?? null };
    expect(verifyCertificateChain(withoutLeaf, serverStatic.public, trust)).toEqual({
      valid: false,
      reason: 'missing-part',
    });
    expect(
      verifyCertificateChain(
        { ...chain, intermediate: { details: chain.intermediate?.details ?? null } },
        serverStatic.public,
        trust,
      ),
    ).toEqual({ valid: false, reason: 'missing-part' });
    // Bytes that are not a Details message, correctly signed by the root.
    const garbage = Buffer.from([0x1a, 0x10, 0x01, 0x02]); // key: 16 bytes announced, 2 present
    const signedGarbage = { details: garbage, signature: Curve.sign(root.private, garbage) };
    expect(
      verifyCertificateChain({ ...chain, intermediate: signedGarbage }, serverStatic.public, trust),
    ).toEqual({ valid: false, reason: 'malformed-details' });
  });
});
