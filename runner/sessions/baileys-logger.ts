import type { Logger } from '@aws-lambda-powertools/logger';
import type { SocketConfig } from '@whiskeysockets/baileys';

type ILogger = SocketConfig['logger'];

/**
 * Baileys logs every frame at trace/debug; a runner with a thousand sockets keeps only warnings and
 * errors, through our logger so that redaction applies to what Baileys puts in its log objects.
 */
export function baileysLogger(logger: Logger, bindings: Record<string, unknown> = {}): ILogger {
  const forward = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    const details =
      typeof obj === 'object' && obj !== null
        ? { ...bindings, baileys: obj }
        : { ...bindings, baileys: { value: obj } };
    logger[level](msg ?? (typeof obj === 'string' ? obj : 'baileys'), details);
  };
  const ignore = () => undefined;
  return {
    level: 'warn',
    child: (more: Record<string, unknown>) => baileysLogger(logger, { ...bindings, ...more }),
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: forward('warn'),
    error: forward('error'),
  };
}
