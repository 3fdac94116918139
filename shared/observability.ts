// The one place that makes loggers and metrics, all under the platform's service name, with
// redaction built in: logs never carry credentials, keys, message bodies or full phone numbers.
// The tracer lives apart (tracing.ts): loading it slows every promise of the process.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { maskPhoneNumber } from './domain/phone-number.ts';

export const SERVICE_NAME = 'clinic-wa';
export const METRICS_NAMESPACE = 'ClinicWA';
export const REDACTED = '[redacted]';

/** Field names whose values are secret or patient content, whatever the nesting. */
const SENSITIVE_FIELD =
  /secret|token|password|passphrase|authorization|cookie|creds|credential|private|privkey|apikey|datakey|plaintext|noisekey|identitykey|prekey|signature|^(key|keys|body|text|caption|conversation|qr|pairingcode)$/i;

/** A bare run of 10–15 digits (optionally +) is a phone number here: E.164 or the user part of a JID. */
const PHONE_IN_TEXT = /(?<![A-Za-z0-9])\+?\d{10,15}(?!\d)/g;

export function redactLogValue(key: string, value: unknown): unknown {
  if (key !== '' && SENSITIVE_FIELD.test(key) && value !== null && value !== undefined) return REDACTED;
  if (typeof value === 'string') return value.replace(PHONE_IN_TEXT, maskPhoneNumber);
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (isSerializedBuffer(value)) return `[${value.data.length} bytes]`;
  return value;
}

function isSerializedBuffer(value: unknown): value is { type: 'Buffer'; data: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

function logLevelFromEnvironment(): LogLevel {
  const level = process.env.LOG_LEVEL?.toUpperCase();
  return level === 'DEBUG' || level === 'WARN' || level === 'ERROR' || level === 'SILENT' ? level : 'INFO';
}

export function createLogger(options: { logLevel?: LogLevel; component?: string } = {}): Logger {
  return new Logger({
    serviceName: SERVICE_NAME,
    logLevel: options.logLevel ?? logLevelFromEnvironment(),
    jsonReplacerFn: redactLogValue,
    ...(options.component ? { persistentKeys: { component: options.component } } : {}),
  });
}

export const logger = createLogger();
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
