// A shard worker's view of the platform's repositories: every write for the shard's channels carries
// the shard's fence, so the adapter refuses it (in the same transaction) once another runner holds
// the shard; and every write is refused here first while this runner cannot prove its lease (no
// renewal confirmed within TTL − margin). Status advances rely on the latter alone: a runner that
// gave a shard up has closed its sockets, so only a write already under way can land late, and a
// message's status only ever moves forward, on a receipt that really came.
import type { Fence } from '#shared/domain/fence.ts';
import type { ChannelRepository, MessageRepository } from '#shared/ports.ts';

/** A write for a shard whose lease this runner cannot prove it still holds (transient: retried). */
export class LeaseUnconfirmedError extends Error {
  /** `of`: what the write or send was for (`shard 3`, `channel chn_…`). */
  constructor(of: string) {
    super(`The runner cannot prove it still holds the lease of ${of}`);
    this.name = 'LeaseUnconfirmedError';
  }
}

export function fencedChannels(
  channels: ChannelRepository,
  fence: Fence,
  confirmed: () => boolean,
): ChannelRepository {
  return {
    create: (channel) => channels.create(channel),
    get: (tenantId, channelId) => channels.get(tenantId, channelId),
    list: (tenantId, request) => channels.list(tenantId, request),
    listByShard: (shard, request) => channels.listByShard(shard, request),
    transition: async (tenantId, channelId, transition, options) => {
      requireConfirmed(fence, confirmed);
      return channels.transition(tenantId, channelId, transition, { ...options, fence });
    },
    recordPairing: async (tenantId, channelId, pairing, options) => {
      requireConfirmed(fence, confirmed);
      return channels.recordPairing(tenantId, channelId, pairing, { ...options, fence });
    },
    markDeleted: (tenantId, channelId, at) => channels.markDeleted(tenantId, channelId, at),
    completeDeletion: async (tenantId, channelId, at, options) => {
      requireConfirmed(fence, confirmed);
      return channels.completeDeletion(tenantId, channelId, at, { ...options, fence });
    },
  };
}

export function fencedMessages(
  messages: MessageRepository,
  fence: Fence,
  confirmed: () => boolean,
): MessageRepository {
  return {
    put: async (message, options) => {
      requireConfirmed(fence, confirmed);
      return messages.put(message, { ...options, fence });
    },
    advanceStatus: async (...args) => {
      requireConfirmed(fence, confirmed);
      return messages.advanceStatus(...args);
    },
    get: (...args) => messages.get(...args),
    findByWaMessageId: (...args) => messages.findByWaMessageId(...args),
    resolveWaMessageId: (...args) => messages.resolveWaMessageId(...args),
    list: (...args) => messages.list(...args),
    getSendClaim: (...args) => messages.getSendClaim(...args),
    // The API's sends under an Idempotency-Key: a runner never claims one, and would write unfenced.
    putQueuedOnce: () => Promise.reject(new Error('A runner does not claim sends')),
    failQueuedAndReleaseClaim: () => Promise.reject(new Error('A runner does not claim sends')),
  };
}

function requireConfirmed(fence: Fence, confirmed: () => boolean): void {
  if (!confirmed()) throw new LeaseUnconfirmedError(`shard ${fence.shard}`);
}
