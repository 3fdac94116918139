import type { Logger } from '@aws-lambda-powertools/logger';
import { type BinaryNode, binaryNodeToString } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionErasedError } from '#runner/auth/stored-session.ts';
import { baileysLogger } from '#runner/sessions/baileys-logger.ts';
import { StaleFenceError } from '#shared/domain/fence.ts';
import { createLogger } from '#shared/observability.ts';
import { captureOutput } from '#test/support/captured-output.ts';

function recordingLogger(levelName: 'DEBUG' | 'INFO' = 'INFO') {
  const lines: { level: string; message: string; details: unknown }[] = [];
  const at = (level: string) => (message: string, details: unknown) =>
    void lines.push({ level, message, details });
  const logger = {
    getLevelName: () => levelName,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  } as unknown as Logger;
  return { lines, logger, levels: () => lines.map(({ level, message }) => [level, message]) };
}

/** Errors as Baileys' Boom makes them: the status in `output`. */
function boom(message: string, statusCode: number, data?: unknown): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode }, data });
}

const streamError = (code: string, child?: BinaryNode): BinaryNode => ({
  tag: 'stream:error',
  attrs: { code },
  ...(child ? { content: [child] } : {}),
});

describe('Baileys logger', () => {
  afterEach(() => vi.restoreAllMocks());
  const fence = { owner: 'runner-b', shard: 8, token: 1, cluster: 'test' } as never;
  const channel = { tenantId: 'ten_1', channelId: 'chn_1' };

  it('keeps warnings and errors, with our bindings and Baileys’ own under `baileys`, and drops chatter', () => {
    const { lines, logger, levels } = recordingLogger();
    const log = baileysLogger(logger, { channelId: 'chn_1' }).child({ class: 'ns', msgId: '3EB0A1' });
    expect(log.level).toBe('warn');
    log.trace({ frame: 0 }, 'recv xml');
    log.debug({ frame: 1 }, 'recv');
    log.info({ frame: 2 }, 'sent');
    log.warn({ attempt: 2 }, 'retrying');
    log.error({ error: new Error('boom') }, 'transaction failed, rolling back');
    log.warn('keep alive called when WS not open');
    expect(levels()).toEqual([
      ['warn', 'retrying'],
      ['error', 'transaction failed, rolling back'],
      ['warn', 'keep alive called when WS not open'],
    ]);
    expect(lines[0]?.details).toEqual({
      channelId: 'chn_1',
      baileys: { class: 'ns', msgId: '3EB0A1', attempt: 2 },
    });
  });

  it('passes Baileys’ info and debug on as debug when our logger is at DEBUG, never its trace', () => {
    const { logger, levels } = recordingLogger('DEBUG');
    const log = baileysLogger(logger);
    expect(log.level).toBe('debug');
    log.trace({ xml: '<message/>' }, 'recv xml');
    log.debug({ count: 1 }, 'uploading pre-keys');
    log.info('handled 0 offline messages/notifications');
    expect(levels()).toEqual([
      ['debug', 'uploading pre-keys'],
      ['debug', 'handled 0 offline messages/notifications'],
    ]);
  });

  it('lets nothing of a patient through: push name, number, content', () => {
    const output = captureOutput();
    const logger = createLogger({ logLevel: 'DEBUG' });
    const message: BinaryNode = {
      tag: 'message',
      attrs: { id: '3EB0A1B2C3D4E5F6A7', from: '5511922234567@s.whatsapp.net', notify: 'Maria Quintela' },
      content: [{ tag: 'enc', attrs: { v: '2', type: 'msg' }, content: Buffer.from('ciphertext') }],
    };
    const log = baileysLogger(logger).child({ msgId: '3EB0A1B2C3D4E5F6A7' });
    log.error(
      { error: new Error('bad things'), node: binaryNodeToString(message) },
      'error in handling message',
    );
    log.debug({ name: 'Maria Quintela' }, 'updated pushName');
    log.warn({ jid: '5511922234567@s.whatsapp.net' }, 'Invalid entry for 5511922234567@s.whatsapp.net');
    output.restore();
    expect(output.text()).not.toMatch(/Maria|Quintela|922234567|ciphertext/);
    const [handling, pushName, invalid] = output.entries() as {
      message: string;
      baileys: Record<string, unknown>;
    }[];
    expect(handling?.baileys.node).toBe(
      "<message id='3EB0A1B2C3D4E5F6A7' from='55*******4567@s.whatsapp.net' notify><enc v='2' type='msg'></enc></message>",
    );
    expect(pushName?.baileys).toEqual({ msgId: '3EB0A1B2C3D4E5F6A7', name: '[redacted]' });
    expect(invalid?.message).toBe('Invalid entry for 55*******4567@s.whatsapp.net');
  });

  it('logs what the session handles by design at a routine level, saying why', () => {
    const { logger, levels } = recordingLogger('DEBUG');
    const log = baileysLogger(logger);
    log.error({ error: new StaleFenceError(fence) }, 'transaction failed, rolling back');
    log.error({ err: new StaleFenceError(fence) }, 'failed to decrypt message');
    log.error({ fullErrorNode: streamError('515') }, 'stream errored out');
    log.error(
      {
        reasonNode: { tag: 'conflict', attrs: { type: 'device_removed' } },
        fullErrorNode: streamError('401'),
      },
      'stream errored out',
    );
    log.error({ error: new SessionErasedError(channel) }, 'transaction failed, rolling back');
    log.error({ error: boom('Connection Closed', 428), node: '<message/>' }, 'error in handling message');
    log.error({ err: boom('WebSocket Error (undefined)', 500, 1006) }, 'error in validating connection');
    log.warn('no name present, ignoring presence update request...');
    expect(levels()).toEqual([
      ['info', 'transaction failed, rolling back (shard moved on: write refused by its fence)'],
      ['info', 'failed to decrypt message (shard moved on: write refused by its fence)'],
      [
        'info',
        'stream errored out (restart required, as after every pairing: the session logs in again at once)',
      ],
      ['info', 'stream errored out (logged out from the phone: the session ends and tells the clinic)'],
      [
        'info',
        'transaction failed, rolling back (the session was erased (logged out) while this was in flight)',
      ],
      ['info', 'error in handling message (the socket closed under it: the session handles the close)'],
      [
        'warn',
        'error in validating connection (the connection dropped: the session reconnects with backoff)',
      ],
      ['debug', 'no name present, ignoring presence update request... (the runner announces no name)'],
    ]);
  });

  it('keeps real errors errors', () => {
    const { logger, levels } = recordingLogger();
    const log = baileysLogger(logger);
    log.error(
      { fullErrorNode: streamError('440', { tag: 'conflict', attrs: { type: 'replaced' } }) },
      'stream errored out',
    );
    log.error({ fullErrorNode: streamError('503') }, 'stream errored out');
    log.error({ err: new Error('Bad MAC') }, 'failed to decrypt message');
    log.error({ err: boom('Connection Failure', 403) }, 'error in validating connection');
    log.warn('no name present, ignoring presence update request...');
    expect(levels()).toEqual([
      ['error', 'stream errored out'],
      ['error', 'stream errored out'],
      ['error', 'failed to decrypt message'],
      ['error', 'error in validating connection'],
    ]);
  });
});
