import { DisconnectReason } from '@whiskeysockets/baileys';
import { StaleFenceError } from '#shared/domain/fence.ts';
import { SessionErasedError } from '../auth/stored-session.ts';
import { errorOf } from './baileys-log-fields.ts';
import { RecordRefusedError } from './inbox.ts';

export interface RoutineLog {
  readonly level: 'info' | 'debug' | 'warn';
  /** Said after the message, so whoever reads the line knows why it is not an error. */
  readonly why: string;
}

interface Case extends RoutineLog {
  readonly matches: (fields: Record<string, unknown>, message: string) => boolean;
}

/**
 * What Baileys reports as a warning or an error although the session handles it by design. Logged
 * as errors they would page operators after every pairing and every hand-over; each is listed here
 * with what makes it routine, and everything not listed keeps Baileys' level.
 */
const ROUTINE: readonly Case[] = [
  {
    why: 'shard moved on: write refused by its fence',
    level: 'info',
    matches: (fields) => errorOf(fields) instanceof StaleFenceError,
  },
  {
    why: 'restart required, as after every pairing: the session logs in again at once',
    level: 'info',
    matches: (fields) => streamErrorCode(fields) === String(DisconnectReason.restartRequired),
  },
  {
    why: 'logged out from the phone: the session ends and tells the clinic',
    level: 'info',
    matches: (fields) => streamErrorCode(fields) === String(DisconnectReason.loggedOut),
  },
  {
    why: 'the session was erased (logged out) while this was in flight',
    level: 'info',
    matches: (fields) => errorOf(fields) instanceof SessionErasedError,
  },
  {
    why: 'the channel is being deleted: nothing it receives is recorded or receipted',
    level: 'info',
    matches: (fields) => errorOf(fields) instanceof RecordRefusedError,
  },
  {
    why: 'the socket closed under it: the session handles the close',
    level: 'info',
    matches: (fields) => statusCodeOf(errorOf(fields)) === DisconnectReason.connectionClosed,
  },
  {
    why: 'the connection dropped: the session reconnects with backoff',
    level: 'warn',
    matches: (fields, message) =>
      message === 'error in validating connection' && /^WebSocket Error/.test(messageOf(errorOf(fields))),
  },
  {
    why: 'the runner announces no name',
    level: 'debug',
    matches: (_, message) => message === 'no name present, ignoring presence update request...',
  },
];

export function routineLog(fields: Record<string, unknown>, message: string): RoutineLog | undefined {
  return ROUTINE.find((routine) => routine.matches(fields, message));
}

/** `<stream:error code='…'>`, as Baileys logs it before ending the connection. */
function streamErrorCode(fields: Record<string, unknown>): string | undefined {
  const node = fields.fullErrorNode as { tag?: unknown; attrs?: { code?: unknown } } | undefined;
  return node?.tag === 'stream:error' && typeof node.attrs?.code === 'string' ? node.attrs.code : undefined;
}

function statusCodeOf(error: unknown): number | undefined {
  return (error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : '';
}
