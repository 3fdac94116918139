import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { newId } from '#shared/domain/ids.ts';
import {
  deliveryIdOf,
  judgeResponse,
  newSecretValue,
  RETRY_SCHEDULE_SECONDS,
  retryDelayMs,
  rotatedSecrets,
  signingSecrets,
  type Webhook,
  webhookWants,
} from '#shared/domain/webhook.ts';

const now = new Date('2026-12-01T12:00:00.000Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

function webhook(overrides: Partial<Webhook> = {}): Webhook {
  return {
    id: newId('webhook'),
    tenantId: 'ten_A',
    url: 'https://clinic.example/hooks',
    description: null,
    events: ['message.received'],
    channelIds: null,
    status: 'enabled',
    disabledReason: null,
    secrets: [{ sealed: 'sealed-current', createdAt: now.toISOString(), expiresAt: null }],
    failingSince: null,
    version: 1,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...overrides,
  };
}

describe('which events a webhook takes', () => {
  const event = { type: 'message.received' as const, tenantId: 'ten_A', channelId: 'chn_1' };

  it('takes its subscribed types of its own tenant only', () => {
    expect(webhookWants(webhook(), event)).toBe(true);
    expect(webhookWants(webhook(), { ...event, tenantId: 'ten_B' })).toBe(false);
    expect(webhookWants(webhook(), { ...event, type: 'message.status' })).toBe(false);
    expect(webhookWants(webhook({ events: ['*'] }), { ...event, type: 'channel.status' })).toBe(true);
  });

  it('narrows to its channels, leaving out events of no channel', () => {
    const narrowed = webhook({ channelIds: ['chn_1'] });
    expect(webhookWants(narrowed, event)).toBe(true);
    expect(webhookWants(narrowed, { ...event, channelId: 'chn_2' })).toBe(false);
    expect(webhookWants(narrowed, { ...event, channelId: null })).toBe(false);
    expect(webhookWants(webhook(), { ...event, channelId: null })).toBe(true);
  });

  it('takes nothing while disabled', () => {
    expect(webhookWants(webhook({ status: 'disabled', disabledReason: 'gone' }), event)).toBe(false);
  });
});

describe('secret rotation', () => {
  const fresh = { sealed: 'sealed-new', createdAt: now.toISOString(), expiresAt: null };
  const sealedOf = (secrets: readonly { sealed: string }[]) => secrets.map((secret) => secret.sealed);

  it('signs with the new and the old secret during the overlap, then with the new one only', () => {
    const secrets = rotatedSecrets(webhook(), fresh, now, 3600);
    const hook = webhook({ secrets });
    expect(secrets[0]).toEqual(fresh);
    expect(secrets[1]).toEqual({
      sealed: 'sealed-current',
      createdAt: now.toISOString(),
      expiresAt: later(3600).toISOString(),
    });
    expect(sealedOf(signingSecrets(hook, later(10)))).toEqual(['sealed-new', 'sealed-current']);
    expect(sealedOf(signingSecrets(hook, later(3601)))).toEqual(['sealed-new']);
  });

  it('drops the old secret at once with no overlap, and refuses an overlap out of range', () => {
    const secrets = rotatedSecrets(webhook(), fresh, now, 0);
    expect(sealedOf(secrets)).toEqual(['sealed-new']);
    expect(() => rotatedSecrets(webhook(), fresh, now, 8 * 24 * 3600)).toThrow(ValidationError);
    expect(() => rotatedSecrets(webhook(), fresh, now, 1.5)).toThrow(ValidationError);
  });

  it('makes secrets of Standard Webhooks’ form, each new', () => {
    const values = new Set(Array.from({ length: 20 }, () => newSecretValue()));
    expect(values.size).toBe(20);
    for (const value of values) expect(value).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });
});

describe('the retry schedule', () => {
  it('follows Standard Webhooks’ delays, then ends', () => {
    const middle = () => 0.5;
    const delays = RETRY_SCHEDULE_SECONDS.map((_, i) => retryDelayMs(i + 1, { random: middle }));
    expect(delays).toEqual(RETRY_SCHEDULE_SECONDS.map((seconds) => seconds * 1000));
    expect(retryDelayMs(RETRY_SCHEDULE_SECONDS.length + 1)).toBeNull();
  });

  it('jitters by at most a tenth, scales down for local runs, and waits for a longer Retry-After', () => {
    expect(retryDelayMs(2, { random: () => 0 })).toBe(270_000);
    expect(retryDelayMs(2, { random: () => 1 })).toBe(330_000);
    expect(retryDelayMs(2, { random: () => 0.5, scale: 0.001 })).toBe(300);
    expect(retryDelayMs(1, { random: () => 0.5, retryAfterMs: 60_000 })).toBe(60_000);
    expect(retryDelayMs(2, { random: () => 0.5, retryAfterMs: 60_000 })).toBe(300_000);
  });
});

describe('what a response means', () => {
  it('succeeds on 2xx only; 3xx is a failure; 410 is gone', () => {
    expect(judgeResponse(204, null, now)).toEqual({ outcome: 'succeeded' });
    expect(judgeResponse(301, null, now)).toEqual({
      outcome: 'retry',
      error: 'redirect_301',
      retryAfterMs: null,
    });
    expect(judgeResponse(410, null, now)).toEqual({ outcome: 'gone', error: 'http_410' });
    expect(judgeResponse(500, '30', now)).toEqual({
      outcome: 'retry',
      error: 'http_500',
      retryAfterMs: null,
    });
  });

  it('honours Retry-After on 429 and 503, in seconds or as a date, within a day', () => {
    expect(judgeResponse(429, '30', now)).toMatchObject({ retryAfterMs: 30_000 });
    expect(judgeResponse(503, later(120).toUTCString(), now)).toMatchObject({ retryAfterMs: 120_000 });
    expect(judgeResponse(429, '999999', now)).toMatchObject({ retryAfterMs: 86_400_000 });
    expect(judgeResponse(429, 'soon', now)).toMatchObject({ retryAfterMs: null });
  });
});

it('gives one event and one webhook the same delivery id every time', () => {
  const eventId = newId('event');
  const webhookId = newId('webhook');
  expect(deliveryIdOf(eventId, webhookId)).toBe(deliveryIdOf(eventId, webhookId));
  expect(deliveryIdOf(eventId, webhookId)).not.toBe(deliveryIdOf(eventId, newId('webhook')));
});
