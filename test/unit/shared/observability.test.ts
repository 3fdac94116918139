import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, REDACTED, redactLogValue, SERVICE_NAME } from '#shared/observability.ts';
import { captureOutput } from '#test/support/captured-output.ts';

describe('log redaction', () => {
  afterEach(() => vi.restoreAllMocks());

  it('masks phone numbers in every string, in E.164, inside WhatsApp JIDs and as people write them', () => {
    expect(redactLogValue('to', '+5511987654321')).toBe('+55*******4321');
    expect(redactLogValue('jid', '5511987654321:3@s.whatsapp.net')).toBe('55*******4321:3@s.whatsapp.net');
    expect(redactLogValue('message', 'no answer from (11) 91234-5678')).toBe('no answer from 11*****5678');
    expect(redactLogValue('note', 'chn_01JDZ8K4F0Q7W6X5V4T3S2R1QP')).toBe('chn_01JDZ8K4F0Q7W6X5V4T3S2R1QP');
    expect(redactLogValue('shard', 12)).toBe(12);
  });

  it('drops secrets, keys and message content whatever the nesting', () => {
    for (const field of [
      'secret',
      'apiKey',
      'authorization',
      'creds',
      'noiseKey',
      'signedPreKey',
      'body',
      'text',
      'qr',
      'pairingCode',
      'pushName',
      'notify',
      'verifiedName',
      'displayName',
      'vcard',
      'fileName',
      'degreesLatitude',
      'longitude',
      'address',
      'jpegThumbnail',
    ]) {
      expect(redactLogValue(field, 'anything')).toBe(REDACTED);
    }
    expect(redactLogValue('status', 'open')).toBe('open');
  });

  it('logs bytes as their size: buffers, typed arrays, and buffers serialized as JSON or BufferJSON', () => {
    expect(redactLogValue('data', new Uint8Array(16))).toBe('[16 bytes]');
    // JSON.stringify hands the replacer a Buffer's toJSON(), never the Buffer.
    expect(redactLogValue('data', Buffer.from('raw key material').toJSON())).toBe('[16 bytes]');
    expect(
      redactLogValue('data', { type: 'Buffer', data: Buffer.from('raw key material').toString('base64') }),
    ).toBe('[16 bytes]');
    expect(redactLogValue('data', { type: 'Buffer', data: 7 })).toEqual({ type: 'Buffer', data: 7 });
  });

  it('writes JSON logs under the service name with nothing sensitive in them', () => {
    const output = captureOutput();
    const logger = createLogger({ logLevel: 'INFO' });
    logger.info('message sent to (11) 98765-4321', {
      to: '+5511987654321',
      payload: { text: { body: 'Sua consulta é amanhã às 9h.' }, type: 'text' },
      creds: { noiseKey: { private: Buffer.alloc(32, 7) } },
      contact: { pushName: 'Maria Quintela', fileName: 'exame-maria.pdf' },
      tenantId: 'ten_1',
    });
    output.restore();
    const entry = output.entries().at(-1) ?? {};
    expect(entry.service).toBe(SERVICE_NAME);
    expect(entry.tenantId).toBe('ten_1');
    expect(entry.to).toBe('+55*******4321');
    expect(entry.creds).toBe(REDACTED);
    expect(entry.payload).toEqual({ text: REDACTED, type: 'text' });
    expect(entry.contact).toEqual({ pushName: REDACTED, fileName: REDACTED });
    expect(entry.message).toBe('message sent to 11*****4321');
    for (const leak of ['consulta', '987654321', '98765-4321', 'Maria', 'exame'])
      expect(output.text()).not.toContain(leak);
  });
});
