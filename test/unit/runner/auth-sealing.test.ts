import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { open, SealedValueError, seal } from '#runner/auth/aes-gcm.ts';
import { ChannelCipher } from '#runner/auth/channel-cipher.ts';
import { decodeValue, encodeValue } from '#runner/auth/value-codec.ts';

const channel = { tenantId: 'ten_A', channelId: 'chn_1' };
const dataKey = () => Buffer.alloc(32, 7);

describe('AES-256-GCM sealing', () => {
  it('opens what it sealed, with a fresh IV each time', () => {
    const cipher = new ChannelCipher(dataKey(), channel);
    const plaintext = Buffer.from('noise private key bytes');
    const first = cipher.seal('CREDS', plaintext);
    const second = cipher.seal('CREDS', plaintext);
    expect(first.equals(second)).toBe(false);
    expect(first.length).toBe(1 + 12 + plaintext.length + 16);
    expect(cipher.open('CREDS', first)).toEqual(plaintext);
    expect(cipher.open('CREDS', second)).toEqual(plaintext);
  });

  it('refuses a value moved to another item, channel or tenant, or altered', () => {
    const sealed = new ChannelCipher(dataKey(), channel).seal('KEY#session#abc', Buffer.from('session'));
    expect(() => new ChannelCipher(dataKey(), channel).open('KEY#session#abd', sealed)).toThrow(
      SealedValueError,
    );
    expect(() =>
      new ChannelCipher(dataKey(), { ...channel, channelId: 'chn_2' }).open('KEY#session#abc', sealed),
    ).toThrow(SealedValueError);
    expect(() =>
      new ChannelCipher(dataKey(), { ...channel, tenantId: 'ten_B' }).open('KEY#session#abc', sealed),
    ).toThrow(SealedValueError);
    const altered = Buffer.from(sealed);
    altered[20] = (altered[20] ?? 0) ^ 1;
    expect(() => new ChannelCipher(dataKey(), channel).open('KEY#session#abc', altered)).toThrow(
      SealedValueError,
    );
    expect(() =>
      new ChannelCipher(dataKey(), channel).open('KEY#session#abc', sealed.subarray(0, 20)),
    ).toThrow('too short');
  });

  it('binds the AAD in the raw primitive too', async () => {
    const { createSecretKey } = await import('node:crypto');
    const key = createSecretKey(randomBytes(32));
    const sealed = seal(key, Buffer.from('x'), Buffer.from('here'));
    expect(open(key, sealed, Buffer.from('here')).toString()).toBe('x');
    expect(() => open(key, sealed, Buffer.from('there'))).toThrow(SealedValueError);
  });

  it('gives opaque, stable item ids that differ by type, id and channel key', () => {
    const cipher = new ChannelCipher(dataKey(), channel);
    const id = cipher.itemId('session', '5511999990000.0');
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(cipher.itemId('session', '5511999990000.0')).toBe(id);
    expect(cipher.itemId('identity-key', '5511999990000.0')).not.toBe(id);
    expect(cipher.itemId('session', '5511999990000.1')).not.toBe(id);
    expect(new ChannelCipher(Buffer.alloc(32, 8), channel).itemId('session', '5511999990000.0')).not.toBe(id);
  });

  it('never shows key material when printed', () => {
    const cipher = new ChannelCipher(Buffer.alloc(32, 0xab), channel);
    expect(inspect(cipher)).toBe('ChannelCipher(ten_A/chn_1)');
    expect(JSON.stringify({ cipher })).toBe('{"cipher":"[ChannelCipher]"}');
    expect(inspect(cipher, { showHidden: true })).not.toMatch(/abab|171/);
  });

  it('rejects a data key of the wrong size', () => {
    expect(() => new ChannelCipher(Buffer.alloc(16), channel)).toThrow('32 bytes');
  });
});

describe('value codec', () => {
  it('round-trips Buffers and Uint8Arrays byte for byte inside nested values', () => {
    const value = {
      a: new Uint8Array([0, 1, 255]),
      b: [Buffer.from('hi')],
      n: 3,
      s: 'x',
      nested: { c: Buffer.alloc(0) },
    };
    const decoded = decodeValue<typeof value>(encodeValue(value));
    expect(decoded.a).toBeInstanceOf(Uint8Array);
    expect([...decoded.a]).toEqual([0, 1, 255]);
    expect(Buffer.from(decoded.b[0] as Uint8Array).toString()).toBe('hi');
    expect(decoded.nested.c.length).toBe(0);
    expect(decoded.n).toBe(3);
  });
});
