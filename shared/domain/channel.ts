import { createHash } from 'node:crypto';
import { ConflictError, ValidationError } from './errors.ts';

/**
 * A channel is one WhatsApp number of a clinic. Its status follows the session's life in the runner:
 * disconnected → connecting → qr | pairing_code → open → reconnecting → logged_out | failed.
 */
export const CHANNEL_STATUSES = [
  'disconnected',
  'connecting',
  'qr',
  'pairing_code',
  'open',
  'reconnecting',
  'logged_out',
  'failed',
] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];

const ALLOWED_TRANSITIONS: Record<ChannelStatus, readonly ChannelStatus[]> = {
  disconnected: ['connecting'],
  connecting: ['qr', 'pairing_code', 'open', 'reconnecting', 'failed', 'disconnected', 'logged_out'],
  qr: ['qr', 'open', 'connecting', 'reconnecting', 'failed', 'disconnected'],
  pairing_code: ['open', 'connecting', 'reconnecting', 'failed', 'disconnected'],
  open: ['connecting', 'reconnecting', 'logged_out', 'disconnected', 'failed'],
  reconnecting: ['open', 'connecting', 'logged_out', 'failed', 'disconnected'],
  logged_out: ['connecting', 'disconnected'],
  failed: ['connecting', 'reconnecting', 'disconnected'],
};

export function canTransition(from: ChannelStatus, to: ChannelStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

export function assertTransition(channelId: string, from: ChannelStatus, to: ChannelStatus): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(
      'invalid_channel_transition',
      `Channel ${channelId} cannot go from ${from} to ${to}`,
    );
  }
}

export interface Channel {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly status: ChannelStatus;
  /** The command shard whose queue and runner serve this channel; fixed at creation. */
  readonly shard: number;
  readonly phoneNumber: string | null;
  readonly lid: string | null;
  /** Incremented by every write; conditional writes compare it to reject stale updates. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSeenAt: string | null;
}

/** What a status change may set besides the status itself. */
export interface ChannelStatusDetails {
  readonly phoneNumber?: string | null;
  readonly lid?: string | null;
  readonly lastSeenAt?: string | null;
}

export function validateChannelName(input: string): string {
  const name = input.trim();
  if (name.length < 1 || name.length > 100) {
    const message = 'name must have 1 to 100 characters';
    throw new ValidationError('The channel is not valid', [{ field: 'name', message }]);
  }
  return name;
}

/** A stable, uniform shard for a channel id; the same id always lands on the same shard. */
export function shardFor(channelId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1)
    throw new RangeError('shardCount must be a positive integer');
  return createHash('sha256').update(channelId).digest().readUInt32BE(0) % shardCount;
}
