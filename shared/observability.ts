// The one place that makes loggers and metrics, all under the platform's service name, with
// redaction built in: logs never carry credentials, keys, patient data (names, message content,
// file names, places) or full phone numbers. Every log line goes through `redactLogValue`; objects
// from libraries are narrowed to what is known safe before they get here (the runner's Baileys
// logger and console guard). The tracer lives apart (tracing.ts): loading it slows every promise.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { maskPhoneNumbersInText } from './domain/phone-number.ts';

export const SERVICE_NAME = 'clinic-wa';
export const METRICS_NAMESPACE = 'ClinicWA';
export const REDACTED = '[redacted]';

/** Field names whose values are secret or patient data, whatever the nesting. */
const SENSITIVE_FIELD =
  /secret|token|password|passphrase|authorization|cookie|creds|credential|private|privkey|apikey|datakey|plaintext|noisekey|identitykey|prekey|signature|pushname|verifiedname|displayname|notify|vcard|filename|latitude|longitude|thumbnail|^(key|keys|body|text|caption|conversation|address|qr|pairingcode)$/i;

export function redactLogValue(key: string, value: unknown): unknown {
  if (key !== '' && SENSITIVE_FIELD.test(key) && value !== null && value !== undefined) return REDACTED;
  if (typeof value === 'string') return maskPhoneNumbersInText(value);
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const serialized = serializedBufferLength(value);
  return serialized === undefined ? value : `[${serialized} bytes]`;
}

/**
 * A Buffer as JSON: `{ type: 'Buffer', data: [bytes] }` (JSON.stringify calls its toJSON before any
 * replacer sees it) or, from Baileys' `BufferJSON`, `{ type: 'Buffer', data: '<base64>' }`.
 */
function serializedBufferLength(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'Buffer')
    return undefined;
  const data = (value as { data?: unknown }).data;
  if (Array.isArray(data)) return data.length;
  if (typeof data === 'string') return Buffer.byteLength(data, 'base64');
  return undefined;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

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
