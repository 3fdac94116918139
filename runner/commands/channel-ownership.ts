// A runner acts on a command only for a channel it may serve: the command's tenant must own the
// channel (read in the tenant's own partition, so another tenant's channel is simply absent), and
// the channel must belong to the shard whose queue brought the command. Anything that can write to
// a shard queue could otherwise send from another clinic's number, log it out, or open a second
// socket for a channel that is live on another runner.
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelRepository } from '#shared/ports.ts';

export type OwnershipVerdict =
  | { readonly ok: true; readonly channel: Channel }
  /** The tenant has no such channel (absent, or another tenant's: the two look the same). */
  | { readonly ok: false; readonly reason: 'unknown_channel' }
  /** The tenant's channel, but another shard's: its own runner serves it. */
  | { readonly ok: false; readonly reason: 'wrong_shard'; readonly channel: Channel };

export interface ChannelOwnershipOptions {
  /** How long a channel found is trusted: its tenant and shard never change, it may be deleted. */
  readonly foundTtlMs?: number;
  /** How long "no such channel" is trusted: short, a channel created meanwhile must be served. */
  readonly absentTtlMs?: number;
  /** Channels found, remembered at most (the shards' channels: a runner's working set). */
  readonly capacity?: number;
  /** "No such channel" answers remembered at most: apart, so forged ids cannot push out real ones. */
  readonly absentCapacity?: number;
  readonly now?: () => number;
}

/**
 * Resolves commands' channels, remembering the answers so a busy channel costs no read per command,
 * and reading a channel once however many of its commands ask at the same time.
 */
export class ChannelOwnership {
  private readonly found: BoundedCache<Channel>;
  private readonly absent: BoundedCache<true>;
  private readonly reading = new Map<string, Promise<Channel | null>>();

  constructor(
    private readonly channels: ChannelRepository,
    options: ChannelOwnershipOptions = {},
  ) {
    const now = options.now ?? Date.now;
    this.found = new BoundedCache(options.capacity ?? 20_000, options.foundTtlMs ?? 300_000, now);
    this.absent = new BoundedCache(options.absentCapacity ?? 2_000, options.absentTtlMs ?? 30_000, now);
  }

  async verify(command: { tenantId: string; channelId: string }, shard: number): Promise<OwnershipVerdict> {
    const channel = await this.resolve(command.tenantId, command.channelId);
    if (!channel) return { ok: false, reason: 'unknown_channel' };
    if (channel.shard !== shard) return { ok: false, reason: 'wrong_shard', channel };
    return { ok: true, channel };
  }

  /** Forgets a channel (it was deleted, or a command found it changed). */
  forget(tenantId: string, channelId: string): void {
    const key = keyOf(tenantId, channelId);
    this.found.delete(key);
    this.absent.delete(key);
  }

  private async resolve(tenantId: string, channelId: string): Promise<Channel | null> {
    const key = keyOf(tenantId, channelId);
    const known = this.found.get(key);
    if (known) return known;
    if (this.absent.get(key)) return null;
    const pending = this.reading.get(key);
    if (pending) return pending;
    const read = this.channels
      .get(tenantId, channelId)
      .then((channel) => {
        if (channel) this.found.set(key, channel);
        else this.absent.set(key, true);
        return channel;
      })
      .finally(() => this.reading.delete(key));
    this.reading.set(key, read);
    return read;
  }
}

/** Entries that expire, the oldest forgotten first beyond `capacity`. */
class BoundedCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

function keyOf(tenantId: string, channelId: string): string {
  return `${tenantId}/${channelId}`;
}
