import type { Channel } from '../domain/channel.ts';
import { type ChannelCommand, channelCommandSchema } from '../domain/commands.ts';
import { newId } from '../domain/ids.ts';
import type { CommandBus } from '../ports.ts';

/** What a command says besides its envelope (the id, tenant, channel and time are filled in). */
export type CommandBody<T extends ChannelCommand['type'] = ChannelCommand['type']> = T extends unknown
  ? Omit<Extract<ChannelCommand, { type: T }>, 'commandId' | 'tenantId' | 'channelId' | 'issuedAt'>
  : never;

/**
 * Builds a command for the channel and puts it on its shard's queue, in the channel's order. The
 * command is checked against the schema the runner reads it with, so what the runner would refuse
 * never leaves; the returned command is durable in the queue.
 */
export async function issueCommand<T extends ChannelCommand['type']>(
  deps: { readonly commands: CommandBus; readonly now?: () => Date },
  channel: Pick<Channel, 'id' | 'tenantId' | 'shard'>,
  body: CommandBody<T> & { readonly commandId?: string },
): Promise<Extract<ChannelCommand, { type: T }>> {
  const now = deps.now?.() ?? new Date();
  const command = channelCommandSchema.parse({
    commandId: newId('command', now.getTime()),
    tenantId: channel.tenantId,
    channelId: channel.id,
    issuedAt: now.toISOString(),
    ...body,
  }) as Extract<ChannelCommand, { type: T }>;
  await deps.commands.send(command, channel.shard);
  return command;
}
