import { type Channel, shardFor, validateChannelName } from '../domain/channel.ts';
import { NotFoundError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { ChannelRepository } from '../ports.ts';

export interface ChannelDependencies {
  readonly channels: ChannelRepository;
  readonly shardCount: number;
  readonly now?: () => Date;
}

export async function createChannel(
  deps: ChannelDependencies,
  tenantId: string,
  input: { name: string },
): Promise<Channel> {
  const name = validateChannelName(input.name);
  const id = newId('channel');
  const now = (deps.now?.() ?? new Date()).toISOString();
  const channel: Channel = {
    id,
    tenantId,
    name,
    status: 'disconnected',
    shard: shardFor(id, deps.shardCount),
    phoneNumber: null,
    lid: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    lastSeenAt: null,
  };
  await deps.channels.create(channel);
  return channel;
}

/** A channel of the tenant; another tenant's channel is reported absent, never forbidden. */
export async function getChannel(
  deps: ChannelDependencies,
  tenantId: string,
  channelId: string,
): Promise<Channel> {
  const channel = await deps.channels.get(tenantId, channelId);
  if (!channel) throw new NotFoundError('channel', channelId);
  return channel;
}
