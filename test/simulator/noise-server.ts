// Server side of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, plus the framing around it.
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { NOISE_MODE, NOISE_WA_HEADER, proto } from '@whiskeysockets/baileys';
import type { ServerIdentity } from './cert-chain.ts';
import { generateX25519KeyPair, x25519SharedKey } from './curve.ts';

const GCM_TAG_LENGTH = 16;

function ivFor(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
}

function sealGcm(plaintext: Uint8Array, key: Buffer, counter: number, aad: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, ivFor(counter));
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function openGcm(ciphertext: Uint8Array, key: Buffer, counter: number, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, ivFor(counter));
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG_LENGTH));
  return Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - GCM_TAG_LENGTH)),
    decipher.final(),
  ]);
}

function hkdf64(ikm: Uint8Array, salt: Buffer): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.alloc(0), 64));
  return [out.subarray(0, 32), out.subarray(32)];
}

/** The symmetric state of one handshake, seen from the server. */
export class NoiseServerHandshake {
  private hash: Buffer = Buffer.from(NOISE_MODE);
  private chainingKey: Buffer = this.hash;
  private key: Buffer = this.hash;
  private counter = 0;
  private readonly ephemeral = generateX25519KeyPair();

  constructor(private readonly identity: ServerIdentity) {
    this.mixHash(NOISE_WA_HEADER);
  }

  /** Answers the client hello; returns the encoded server hello. */
  respondToHello(clientHelloFrame: Uint8Array): { serverHello: Buffer; clientEphemeral: Buffer } {
    const hello = proto.HandshakeMessage.decode(clientHelloFrame).clientHello;
    const clientEphemeral = hello?.ephemeral ?? new Uint8Array(0);
    if (clientEphemeral.length !== 32) throw new Error('client hello without ephemeral key');
    const peerEphemeral = Buffer.from(clientEphemeral);
    this.mixHash(peerEphemeral);
    this.mixHash(this.ephemeral.public);
    this.mixKey(x25519SharedKey(this.ephemeral, peerEphemeral));
    const encryptedStatic = this.encrypt(this.identity.staticKeyPair.public);
    this.mixKey(x25519SharedKey(this.identity.staticKeyPair, peerEphemeral));
    const encryptedCerts = this.encrypt(this.identity.certChain);
    const serverHello = proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: encryptedStatic, payload: encryptedCerts },
    }).finish();
    return { serverHello: Buffer.from(serverHello), clientEphemeral: peerEphemeral };
  }

  /** Reads the client finish: the client's static key and its `ClientPayload`. */
  acceptFinish(clientFinishFrame: Uint8Array): {
    clientStaticKey: Buffer;
    payload: proto.ClientPayload;
    transport: NoiseTransport;
  } {
    const finish = proto.HandshakeMessage.decode(clientFinishFrame).clientFinish;
    if (!finish?.static || !finish.payload) throw new Error('client finish incomplete');
    const clientStaticKey = this.decrypt(finish.static);
    this.mixKey(x25519SharedKey(this.ephemeral, clientStaticKey));
    const payload = proto.ClientPayload.decode(this.decrypt(finish.payload));
    const [clientWriteKey, serverWriteKey] = hkdf64(Buffer.alloc(0), this.chainingKey);
    return { clientStaticKey, payload, transport: new NoiseTransport(serverWriteKey, clientWriteKey) };
  }

  private mixHash(data: Uint8Array): void {
    this.hash = createHash('sha256').update(this.hash).update(data).digest();
  }

  private mixKey(inputKeyMaterial: Uint8Array): void {
    [this.chainingKey, this.key] = hkdf64(inputKeyMaterial, this.chainingKey);
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ciphertext = sealGcm(plaintext, this.key, this.counter++, this.hash);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const plaintext = openGcm(ciphertext, this.key, this.counter++, this.hash);
    this.mixHash(ciphertext);
    return plaintext;
  }
}

const EMPTY = Buffer.alloc(0);

/** Per-direction AES-GCM after the handshake. */
export class NoiseTransport {
  private writeCounter = 0;
  private readCounter = 0;

  constructor(
    private readonly writeKey: Buffer,
    private readonly readKey: Buffer,
  ) {}

  seal(plaintext: Uint8Array): Buffer {
    return sealGcm(plaintext, this.writeKey, this.writeCounter++, EMPTY);
  }

  open(ciphertext: Uint8Array): Buffer {
    return openGcm(ciphertext, this.readKey, this.readCounter++, EMPTY);
  }
}

/** Splits the client byte stream into frames: an intro once (optionally routing info), then 3-byte lengths. */
export class FrameReader {
  private buffered: Buffer = EMPTY;
  private introSeen = false;

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    if (!this.introSeen && !this.consumeIntro()) return [];
    const frames: Buffer[] = [];
    while (this.buffered.length >= 3) {
      const size = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < size + 3) break;
      frames.push(this.buffered.subarray(3, size + 3));
      this.buffered = this.buffered.subarray(size + 3);
    }
    return frames;
  }

  private consumeIntro(): boolean {
    let offset = 0;
    if (this.buffered[0] === 0x45 && this.buffered[1] === 0x44) {
      // 'ED' 0 1 then a 3-byte routing-info length, routing info, then the WA header
      if (this.buffered.length < 7) return false;
      offset = 7 + this.buffered.readUIntBE(4, 3);
    }
    if (this.buffered.length < offset + NOISE_WA_HEADER.length) return false;
    if (!this.buffered.subarray(offset, offset + NOISE_WA_HEADER.length).equals(NOISE_WA_HEADER)) {
      throw new Error('connection does not start with the WhatsApp intro');
    }
    this.buffered = this.buffered.subarray(offset + NOISE_WA_HEADER.length);
    this.introSeen = true;
    return true;
  }
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 3);
  out.writeUIntBE(payload.length, 0, 3);
  out.set(payload, 3);
  return out;
}
