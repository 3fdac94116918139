import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { Channel } from '#shared/domain/channel.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { ownPlatformForEachTest, report, seconds, until } from './support/runner-harness.ts';

const MESSAGES = Number(process.env.CRASH_TEST_MESSAGES ?? 500);
const CHANNELS = 4;
/** How long no message may reach the patient before the test calls delivery stuck. */
const STALL_MS = 60_000;
const TEST_TIMEOUT_MS = 900_000;
describe('a runner killed while sending', () => {
  // Two runner processes load the emulator hard: this test brings its own so the suite's other
  // files do not wait behind it.
  const own = ownPlatformForEachTest();

  /** Channels on both shards, paired through an in-process runner that then shuts down. */
  async function pairedChannels(): Promise<Channel[]> {
    const pairing = await own.world.startRunner('pairing-runner');
    const channels: Channel[] = [];
    while (channels.length < CHANNELS || new Set(channels.map((channel) => channel.shard)).size < 2) {
      channels.push(await own.world.newChannel(`Line ${channels.length}`));
    }
    for (const [i, channel] of channels.entries()) {
      const phone = await own.simulator.phones.create(`55119444400${String(i).padStart(2, '0')}`);
      await own.world.pairByQr(channel, phone);
    }
    await pairing.stop();
    return channels;
  }

  const connected = (channels: Channel[], phones: string[]) =>
    channels.every((_, i) => {
      const phone = own.simulator.phones.get(phones[i] as string);
      return phone && own.simulator.server.isConnected({ account: phone.account, deviceId: 1 });
    });

  it(
    'delivers every message exactly once and reopens every channel on the survivor',
    async () => {
      const channels = await pairedChannels();
      const clinicNumbers = channels.map((_, i) => `55119444400${String(i).padStart(2, '0')}`);
      const patient = await own.simulator.phones.create('5511955550001');

      const timing = { leaseTtlSeconds: 10, commandVisibilitySeconds: 10 };
      const a = await own.world.spawnRunner('runner-a', timing);
      await own.world.spawnRunner('runner-b', timing);
      await until(
        async () => {
          const owners = await own.world.shardOwners();
          return owners.includes('runner-a') && owners.includes('runner-b') ? owners : undefined;
        },
        'the two runners to split the shards',
        60_000,
      );
      await until(
        () => connected(channels, clinicNumbers) || undefined,
        'every channel logged in on the runners',
        60_000,
      );

      const commands: ChannelCommand[] = Array.from({ length: MESSAGES }, (_, n) => {
        const channel = channels[n % channels.length] as Channel;
        return own.world.textCommand(channel, '+5511955550001', `lembrete ${n}`);
      });
      const statusCounts = async () => {
        const counts: Record<string, number> = {};
        for (const command of commands) {
          if (command.type !== 'send') continue;
          const stored = await own.world.platform.messages.get(
            command.tenantId,
            command.channelId,
            command.messageId,
          );
          const status = stored?.status ?? 'absent';
          counts[status] = (counts[status] ?? 0) + 1;
        }
        return counts;
      };
      const shardOf = new Map(channels.map((channel) => [channel.id, channel.shard]));
      for (let i = 0; i < commands.length; i += 10) {
        const batch = commands.slice(i, i + 10);
        for (const shard of new Set(batch.map((command) => shardOf.get(command.channelId)))) {
          const entries = batch.filter((command) => shardOf.get(command.channelId) === shard);
          await own.world.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: own.world.queueUrls[shard as number],
              Entries: entries.map((command, j) => ({
                Id: String(j),
                MessageBody: JSON.stringify(command),
                MessageGroupId: command.channelId,
                MessageDeduplicationId: command.commandId,
              })),
            }),
          );
        }
      }

      await until(
        () => (patient.received.length >= MESSAGES / 5 ? true : undefined),
        'sending to be under way',
        60_000,
      );
      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      await a.exited;

      await until(
        async () => {
          const owners = await own.world.shardOwners();
          return owners.every((owner) => owner === 'runner-b') ? owners : undefined;
        },
        'the survivor to hold every shard',
        60_000,
      );
      await until(
        () => connected(channels, clinicNumbers) || undefined,
        'every channel open again on the survivor',
        60_000,
      );
      report(
        `failover: every channel open on the survivor ${seconds(Date.now() - killedAt)} s after the kill`,
      );

      // A loaded machine delivers slowly but steadily; what fails the test is a stall: no message
      // reaching the patient for a whole minute while some are still missing.
      let progress = { count: patient.received.length, at: Date.now() };
      await until(
        () => {
          if (patient.received.length >= MESSAGES) return true;
          if (patient.received.length > progress.count)
            progress = { count: patient.received.length, at: Date.now() };
          if (Date.now() - progress.at > STALL_MS) throw new Error('Delivery stalled');
          return undefined;
        },
        'every message at the patient',
        TEST_TIMEOUT_MS,
      ).catch(async (error) => {
        // The whole story in the error itself: CI shows the failure, not always the output before it.
        const received = new Set(patient.received.map((message) => message.text));
        const missing = commands.flatMap((command, n) =>
          command.type === 'send' && !received.has(`lembrete ${n}`) ? [`${n}@${command.channelId}`] : [],
        );
        const story = {
          atThePatient: patient.received.length,
          statuses: await statusCounts(),
          missing: missing.slice(0, 20),
          undecryptable: patient.undecryptable.length,
        };
        throw new Error(`${(error as Error).message}: ${JSON.stringify(story)}`);
      });
      report(`all ${MESSAGES} messages at the patient ${seconds(Date.now() - killedAt)} s after the kill`);
      await until(
        async () => ((await statusCounts()).queued ?? 0) === 0 || undefined,
        'every message recorded past queued',
        60_000,
      );
      const statuses = await statusCounts();
      expect(statuses.failed).toBeUndefined();
      expect(statuses.absent).toBeUndefined();

      const texts = patient.received.map((message) => message.text);
      for (let n = 0; n < MESSAGES; n++)
        expect(texts.filter((text) => text === `lembrete ${n}`)).toHaveLength(1);
      expect(patient.received).toHaveLength(MESSAGES);
    },
    TEST_TIMEOUT_MS,
  );
});
