import type { Logger } from '@aws-lambda-powertools/logger';

/**
 * libsignal (under Baileys) writes session records — private keys included — to the console when it
 * closes or replaces a Signal session. A runner must never print those, so every console call goes
 * through the redacting logger instead, at debug level for anything that is not an error, and of
 * what is not text only its kind is kept: a library's objects are not ours to know safe.
 */
export function routeConsoleThroughLogger(logger: Logger): () => void {
  const original = {
    log: console.log,
    info: console.info,
    warn: console.warn,
    error: console.error,
    debug: console.debug,
  };
  const forward =
    (level: 'debug' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      logger[level](typeof first === 'string' ? first : 'console output', {
        console: (typeof first === 'string' ? rest : args).map(kindOf),
      });
    };
  console.log = forward('debug');
  console.info = forward('debug');
  console.debug = forward('debug');
  console.warn = forward('debug');
  console.error = forward('error');
  return () => Object.assign(console, original);
}

/**
 * Text as it is (the logger masks phone numbers in it), an error's name and message, flags, whole
 * numbers too short for a phone number; of anything else only its kind.
 */
function kindOf(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 1e7 ? value : '[number]';
  if (value === null || value === undefined) return String(value);
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return `[${typeof kind === 'string' && kind !== '' ? kind : typeof value}]`;
}
