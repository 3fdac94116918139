import type { Logger } from '@aws-lambda-powertools/logger';

/**
 * libsignal (under Baileys) writes session records — private keys included — to the console when it
 * closes or replaces a Signal session. A runner must never print those, so every console call goes
 * through the redacting logger instead, at debug level for anything that is not an error.
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
        console: typeof first === 'string' ? rest : args,
      });
    };
  console.log = forward('debug');
  console.info = forward('debug');
  console.debug = forward('debug');
  console.warn = forward('debug');
  console.error = forward('error');
  return () => Object.assign(console, original);
}
