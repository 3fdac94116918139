import { type Channel, type ChannelStatus, shardFor, validateChannelName } from '../domain/channel.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Page, PageRequest } from '../domain/pagination.ts';
import { parsePhoneNumber } from '../domain/phone-number.ts';
import type { ChannelRepository, CommandBus } from '../ports.ts';
import { issueCommand } from './issue-command.ts';

export interface ChannelDependencies {
  readonly channels: ChannelRepository;
  readonly shardCount: number;
  readonly now?: () => Date;
}

export interface ChannelCommandDependencies extends ChannelDependencies {
  readonly commands: CommandBus;
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
    statusReason: null,
    shard: shardFor(id, deps.shardCount),
    phoneNumber: null,
    lid: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    lastSeenAt: null,
    pairing: null,
    deletedAt: null,
  };
  await deps.channels.create(channel);
  return channel;
}

/**
 * A channel of the tenant; another tenant's channel, or one being deleted, is reported absent —
 * never forbidden, so ids of other clinics reveal nothing.
 */
export async function getChannel(
  deps: Pick<ChannelDependencies, 'channels'>,
  tenantId: string,
  channelId: string,
): Promise<Channel> {
  const channel = await deps.channels.get(tenantId, channelId);
  if (!channel || channel.deletedAt !== null) throw new NotFoundError('channel', channelId);
  return channel;
}

export function listChannels(
  deps: Pick<ChannelDependencies, 'channels'>,
  tenantId: string,
  request: PageRequest,
): Promise<Page<Channel>> {
  return deps.channels.list(tenantId, request);
}

export type ConnectRequest = { method: 'qr' } | { method: 'pairing_code'; phoneNumber: string };

/** Asks the channel's runner to connect it; the status then goes connecting → qr | pairing_code → open. */
export async function connectChannel(
  deps: ChannelCommandDependencies,
  tenantId: string,
  channelId: string,
  request: ConnectRequest,
): Promise<Channel> {
  if (request.method === 'pairing_code') parsePhoneNumber(request.phoneNumber);
  const channel = await getChannel(deps, tenantId, channelId);
  if (channel.status === 'open')
    throw new ConflictError('channel_already_connected', `Channel ${channelId} is connected already`);
  await issueCommand(deps, channel, {
    type: 'connect',
    method: request.method,
    ...(request.method === 'pairing_code' ? { phoneNumber: request.phoneNumber } : {}),
  });
  return channel;
}

/** Statuses with no session to log out or restart. */
const WITHOUT_SESSION: readonly ChannelStatus[] = ['disconnected', 'logged_out'];

/** Logs the number out of WhatsApp (the phone loses the linked device); the channel can pair again. */
export async function logoutChannel(
  deps: ChannelCommandDependencies,
  tenantId: string,
  channelId: string,
): Promise<Channel> {
  const channel = await requireSession(deps, tenantId, channelId);
  await issueCommand(deps, channel, { type: 'logout' });
  return channel;
}

/** Closes the channel's socket and opens it again from its stored session, without pairing. */
export async function restartChannel(
  deps: ChannelCommandDependencies,
  tenantId: string,
  channelId: string,
): Promise<Channel> {
  const channel = await requireSession(deps, tenantId, channelId);
  await issueCommand(deps, channel, { type: 'restart' });
  return channel;
}

/**
 * Deletes the channel: its runner logs it out and erases its credentials and keys. The command goes
 * first, so a request that fails half-way leaves the channel visible and the delete can be retried.
 */
export async function deleteChannel(
  deps: ChannelCommandDependencies,
  tenantId: string,
  channelId: string,
): Promise<void> {
  const channel = await getChannel(deps, tenantId, channelId);
  await issueCommand(deps, channel, { type: 'delete' });
  await deps.channels.markDeleted(tenantId, channelId, (deps.now?.() ?? new Date()).toISOString());
}

async function requireSession(
  deps: ChannelCommandDependencies,
  tenantId: string,
  channelId: string,
): Promise<Channel> {
  const channel = await getChannel(deps, tenantId, channelId);
  if (WITHOUT_SESSION.includes(channel.status)) {
    throw new ConflictError(
      'channel_not_connected',
      `Channel ${channelId} is ${channel.status}: connect it first`,
    );
  }
  return channel;
}
