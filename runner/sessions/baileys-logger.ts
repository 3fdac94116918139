import type { Logger } from '@aws-lambda-powertools/logger';
import type { SocketConfig } from '@whiskeysockets/baileys';
import { baileysLogFields } from './baileys-log-fields.ts';
import { routineLog } from './routine-baileys-logs.ts';

type ILogger = SocketConfig['logger'];

/**
 * Baileys' logs through ours. A runner with a thousand sockets keeps Baileys' warnings and errors,
 * and its info and debug only when our logger is at DEBUG (as debug); never its trace, which prints
 * every frame. Nothing Baileys puts in a log object reaches the output unless `baileysLogFields`
 * knows it safe, its own child bindings included; ours (`bindings`) are trusted. What Baileys calls
 * an error but the session handles by design is logged at the level `routineLog` gives it.
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
    const routine = routineLog(fields, message);
    if (routine?.level === 'debug' && !debugging()) return;
    logger[routine?.level ?? level](routine ? `${message} (${routine.why})` : message, details(fields));
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
