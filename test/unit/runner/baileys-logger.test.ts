import type { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { StaleFenceError } from '#runner/leases/fence.ts';
import { baileysLogger } from '#runner/sessions/baileys-logger.ts';

function recordingLogger() {
  const lines: { level: string; message: string; details: unknown }[] = [];
  const at = (level: string) => (message: string, details: unknown) =>
    void lines.push({ level, message, details });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger };
}

describe('Baileys logger', () => {
  const fence = { owner: 'runner-b', shard: 8, token: 1, cluster: 'test' } as never;

  it('keeps warnings and errors, with the socket’s bindings, and drops chatter', () => {
    const { lines, logger } = recordingLogger();
    const log = baileysLogger(logger, { channelId: 'chn_1' }).child({ session: 'a' });
    log.debug({ frame: 1 }, 'recv');
    log.info({ frame: 2 }, 'sent');
    log.warn({ attempt: 2 }, 'retrying');
    log.error({ error: new Error('boom') }, 'transaction failed, rolling back');
    expect(lines.map(({ level, message }) => [level, message])).toEqual([
      ['warn', 'retrying'],
      ['error', 'transaction failed, rolling back'],
    ]);
    expect(lines[0]?.details).toEqual({ channelId: 'chn_1', session: 'a', baileys: { attempt: 2 } });
  });

  it('logs a write refused by the shard’s fence as info: a hand-over, not a fault', () => {
    const { lines, logger } = recordingLogger();
    const log = baileysLogger(logger);
    log.error({ error: new StaleFenceError(fence) }, 'transaction failed, rolling back');
    log.error({ err: new StaleFenceError(fence) }, 'failed to decrypt message');
    expect(lines.map(({ level, message }) => [level, message])).toEqual([
      ['info', 'transaction failed, rolling back (shard moved on: write refused by its fence)'],
      ['info', 'failed to decrypt message (shard moved on: write refused by its fence)'],
    ]);
  });
});
