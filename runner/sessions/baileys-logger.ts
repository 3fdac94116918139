import type { Logger } from '@aws-lambda-powertools/logger';
import type { SocketConfig } from '@whiskeysockets/baileys';
import { StaleFenceError } from '../leases/fence.ts';
import { baileysLogFields, errorOf } from './baileys-log-fields.ts';

type ILogger = SocketConfig['logger'];

/**
 * Baileys' logs through ours. A runner with a thousand sockets keeps Baileys' warnings and errors,
 * and its info and debug only when our logger is at DEBUG (as debug); never its trace, which prints
 * every frame. Nothing Baileys puts in a log object reaches the output unless `baileysLogFields`
 * knows it safe, its own child bindings included; ours (`bindings`) are trusted. A write refused
 * because the shard moved to another runner is fencing at work during a hand-over, not an error:
 * Baileys reports it as one (its key transaction rolls back), we log it as info.
 */
export function baileysLogger(
  logger: Logger,
  bindings: Record<string, unknown> = {},
  own: Record<string, unknown> = {},
): ILogger {
  const debugging = () => logger.getLevelName() === 'DEBUG';
  const details = (fields: Record<string, unknown>) => ({
    ...bindings,
    baileys: baileysLogFields({ ...own, ...fields }),
  });
  const entry = (obj: unknown, msg?: string) => {
    const fields = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : {};
    const message = msg ?? (typeof obj === 'string' ? obj : 'baileys');
    return { fields, message };
  };
  const forward = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    const { fields, message } = entry(obj, msg);
    if (errorOf(fields) instanceof StaleFenceError)
      logger.info(`${message} (shard moved on: write refused by its fence)`, details(fields));
    else logger[level](message, details(fields));
  };
  const chatter = (obj: unknown, msg?: string) => {
    if (!debugging()) return;
    const { fields, message } = entry(obj, msg);
    logger.debug(message, details(fields));
  };
  return {
    get level() {
      return debugging() ? 'debug' : 'warn';
    },
    child: (more: Record<string, unknown>) => baileysLogger(logger, bindings, { ...own, ...more }),
    trace: () => undefined,
    debug: chatter,
    info: chatter,
    warn: forward('warn'),
    error: forward('error'),
  };
}
