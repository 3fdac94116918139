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
  /** Why the runner last changed the status (`connection_replaced`, `logged_out`…), when it said. */
  readonly statusReason: string | null;
  /** The command shard whose queue and runner serve this channel; fixed at creation. */
  readonly shard: number;
  readonly phoneNumber: string | null;
  readonly lid: string | null;
  /** Incremented by every write; conditional writes compare it to reject stale updates. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSeenAt: string | null;
  /** The QR or pairing code the runner last showed for the channel; kept only while it is valid. */
  readonly pairing: ChannelPairing | null;
  /**
   * Set when the clinic deleted the channel: the API shows it no more, and the runner holding its
   * shard erases its session (see `isDeleted`).
   */
  readonly deletedAt: string | null;
}

/**
 * What links a phone to the channel while the channel waits for it: a QR (it carries the companion's
 * `advSecretKey`) or a pairing code for one number. Both are secrets valid for seconds to minutes.
 */
export type ChannelPairing =
  | { readonly method: 'qr'; readonly qr: string; readonly expiresAt: string }
  | {
      readonly method: 'pairing_code';
      readonly pairingCode: string;
      readonly phoneNumber: string;
      readonly expiresAt: string;
    };

/** The statuses during which a channel waits for a phone, keeping its pairing secret. */
export const PAIRING_STATUSES: readonly ChannelStatus[] = ['connecting', 'qr', 'pairing_code'];

/** The pairing a channel shows now: the one that matches its status and has not expired. */
export function currentPairing(channel: Channel, now: Date): ChannelPairing | null {
  const { pairing } = channel;
  if (!pairing || pairing.method !== channel.status) return null;
  return Date.parse(pairing.expiresAt) > now.getTime() ? pairing : null;
}

/** Statuses of a channel that had paired: a runner taking its shard logs it in again from its creds. */
export const RESUMABLE_STATUSES: readonly ChannelStatus[] = ['open', 'reconnecting', 'connecting', 'failed'];

/**
 * True once the clinic deleted the channel (`DELETE /v1/channels/{id}`). For the runner a deleted
 * channel is never opened for the clinic again, whatever its status: no resume, no command but
 * `delete`, nothing it receives recorded, no status reported; its session (creds, Signal keys, data
 * key) is erased, and once it is, the channel leaves its shard's list (`ChannelRepository.completeDeletion`).
 */
export function isDeleted(channel: Pick<Channel, 'deletedAt'>): boolean {
  return channel.deletedAt !== null;
}

/**
 * What the runner taking a shard owes each channel its shard lists: a deleted one (still listed: its
 * session may not be erased yet) has its deletion finished; a paired one is logged in again.
 */
export type ShardDuty = 'finish_deletion' | 'resume' | 'none';

export function shardDutyFor(channel: Pick<Channel, 'status' | 'deletedAt'>): ShardDuty {
  if (isDeleted(channel)) return 'finish_deletion';
  return RESUMABLE_STATUSES.includes(channel.status) ? 'resume' : 'none';
}

/** Whether the runner carries out a command of `type` for the channel: a deleted one takes only `delete`. */
export function acceptsCommand(channel: Pick<Channel, 'deletedAt'>, type: string): boolean {
  return !isDeleted(channel) || type === 'delete';
}

/** What a status change may set besides the status itself. */
export interface ChannelStatusDetails {
  readonly statusReason?: string | null;
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

/**
 * A channel as the operator's views show it, across tenants: no pairing secret (a QR or code links a
 * phone to the clinic's number) and none of the bookkeeping (version, deletion marks).
 */
export type ChannelSummary = Omit<Channel, 'pairing' | 'version' | 'deletedAt'>;

/** How many live channels a tenant has in one status. */
export interface ChannelCount {
  readonly tenantId: string;
  readonly status: ChannelStatus;
  readonly count: number;
}

/**
 * Counts of a bounded read: `complete` false when the bound was reached before every channel was
 * read, and then the counts cover only the `counted` channels read.
 */
export interface ChannelCounts {
  readonly counts: readonly ChannelCount[];
  readonly counted: number;
  readonly complete: boolean;
}

/** Counts per tenant and status, sorted by tenant then status order. */
export function tallyChannels(
  channels: Iterable<{ readonly tenantId: string; readonly status: ChannelStatus }>,
): ChannelCount[] {
  const counts = new Map<string, ChannelCount>();
  for (const { tenantId, status } of channels) {
    const key = `${tenantId} ${status}`;
    counts.set(key, { tenantId, status, count: (counts.get(key)?.count ?? 0) + 1 });
  }
  return [...counts.values()].sort(
    (a, b) =>
      a.tenantId.localeCompare(b.tenantId) ||
      CHANNEL_STATUSES.indexOf(a.status) - CHANNEL_STATUSES.indexOf(b.status),
  );
}
