import type { Logger } from '@aws-lambda-powertools/logger';
import type { SocketConfig } from '@whiskeysockets/baileys';
import { StaleFenceError } from '../leases/fence.ts';

type ILogger = SocketConfig['logger'];

/**
 * Baileys logs every frame at trace/debug; a runner with a thousand sockets keeps only warnings and
 * errors, through our logger so that redaction applies to what Baileys puts in its log objects.
 * A write refused because the shard moved to another runner is fencing at work during a hand-over,
 * not an error: Baileys reports it as one (its key transaction rolls back), we log it as info.
 */
export function baileysLogger(logger: Logger, bindings: Record<string, unknown> = {}): ILogger {
  const forward = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    const details =
      typeof obj === 'object' && obj !== null
        ? { ...bindings, baileys: obj }
        : { ...bindings, baileys: { value: obj } };
    const message = msg ?? (typeof obj === 'string' ? obj : 'baileys');
    if (refusedByFence(obj)) logger.info(`${message} (shard moved on: write refused by its fence)`, details);
    else logger[level](message, details);
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

function refusedByFence(obj: unknown): boolean {
  if (typeof obj !== 'object' || obj === null) return false;
  const { error, err } = obj as { error?: unknown; err?: unknown };
  return error instanceof StaleFenceError || err instanceof StaleFenceError;
}
