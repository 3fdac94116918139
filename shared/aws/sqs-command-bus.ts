import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChannelCommand } from '../domain/commands.ts';
import type { CommandBus } from '../ports.ts';

/**
 * One FIFO queue per shard. The channel is the message group, so a channel's commands are handled in
 * order and by one consumer at a time; the command id is the deduplication id, so a retried send of
 * the same command within SQS's five-minute window is stored once.
 */
export class SqsCommandBus implements CommandBus {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: readonly string[],
  ) {}

  async send(command: ChannelCommand, shard: number): Promise<void> {
    const queueUrl = this.queueUrls[shard];
    if (!queueUrl)
      throw new RangeError(`No command queue for shard ${shard} (${this.queueUrls.length} shards)`);
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(command),
        MessageGroupId: command.channelId,
        MessageDeduplicationId: command.commandId,
      }),
    );
  }
}
