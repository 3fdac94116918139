import { afterEach, describe, expect, it, vi } from 'vitest';
import { maskPhoneNumber } from '#shared/domain/phone-number.ts';
import { createLogger, REDACTED, redactLogValue, SERVICE_NAME } from '#shared/observability.ts';

describe('log redaction', () => {
  afterEach(() => vi.restoreAllMocks());

  it('masks phone numbers, in E.164 and inside WhatsApp JIDs', () => {
    expect(maskPhoneNumber('+5511987654321')).toBe('+55*******4321');
    expect(redactLogValue('to', '+5511987654321')).toBe('+55*******4321');
    expect(redactLogValue('jid', '5511987654321:3@s.whatsapp.net')).toBe('55*******4321:3@s.whatsapp.net');
    expect(redactLogValue('note', 'chn_01JDZ8K4F0Q7W6X5V4T3S2R1QP')).toBe('chn_01JDZ8K4F0Q7W6X5V4T3S2R1QP');
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
    ]) {
      expect(redactLogValue(field, 'anything')).toBe(REDACTED);
    }
    expect(redactLogValue('data', Buffer.from('raw key material'))).toBe('[16 bytes]');
    expect(redactLogValue('status', 'open')).toBe('open');
  });

  it('writes JSON logs under the service name with nothing sensitive in them', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const logger = createLogger({ logLevel: 'INFO' });
    logger.info('message sent', {
      to: '+5511987654321',
      payload: { text: { body: 'Sua consulta é amanhã às 9h.' }, type: 'text' },
      creds: { noiseKey: { private: Buffer.alloc(32, 7) } },
      tenantId: 'ten_1',
    });
    const output = lines.join('');
    const entry = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
    expect(entry.service).toBe(SERVICE_NAME);
    expect(entry.tenantId).toBe('ten_1');
    expect(entry.to).toBe('+55*******4321');
    expect(entry.creds).toBe(REDACTED);
    expect(entry.payload).toEqual({ text: REDACTED, type: 'text' });
    expect(output).not.toContain('consulta');
    expect(output).not.toContain('987654321');
  });
});
