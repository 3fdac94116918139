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
  readonly capacity?: number;
  readonly now?: () => number;
}

/** Resolves commands' channels, remembering the answers so a busy channel costs no read per command. */
export class ChannelOwnership {
  private readonly known = new Map<string, { channel: Channel | null; expiresAt: number }>();
  private readonly now: () => number;

  constructor(
    private readonly channels: ChannelRepository,
    private readonly options: ChannelOwnershipOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async verify(command: { tenantId: string; channelId: string }, shard: number): Promise<OwnershipVerdict> {
    const channel = await this.resolve(command.tenantId, command.channelId);
    if (!channel) return { ok: false, reason: 'unknown_channel' };
    if (channel.shard !== shard) return { ok: false, reason: 'wrong_shard', channel };
    return { ok: true, channel };
  }

  /** Forgets a channel (it was deleted, or a command found it changed). */
  forget(tenantId: string, channelId: string): void {
    this.known.delete(keyOf(tenantId, channelId));
  }

  private async resolve(tenantId: string, channelId: string): Promise<Channel | null> {
    const key = keyOf(tenantId, channelId);
    const cached = this.known.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.channel;
    const channel = await this.channels.get(tenantId, channelId);
    const ttl = channel ? (this.options.foundTtlMs ?? 300_000) : (this.options.absentTtlMs ?? 30_000);
    this.known.delete(key);
    this.known.set(key, { channel, expiresAt: this.now() + ttl });
    if (this.known.size > (this.options.capacity ?? 20_000)) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    return channel;
  }
}

function keyOf(tenantId: string, channelId: string): string {
  return `${tenantId}/${channelId}`;
}
