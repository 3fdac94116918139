// Seeding for the runner benchmark (not measured): channels created through the platform's use case
// and recorded `open` as a paired channel would be, each with a session stored through the runner's
// own SessionStore (encrypted under a KMS data key, fenced) holding the creds and pre-keys of a
// companion provisioned at the simulator without a QR.
import type { AuthenticationCreds, KeyPair } from '@whiskeysockets/baileys';
import type { SessionStore } from '#runner/auth/session-store.ts';
import type { LeaseTable } from '#runner/leases/lease-table.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { Fence } from '#shared/domain/fence.ts';
import type { Platform } from '#shared/platform.ts';
import { createChannel } from '#shared/use-cases/channels.ts';
import { type DeviceAddress, provisionCompanion, type Simulator } from '#test/simulator';
import { mapWithConcurrency } from '../stats.ts';

export interface SeededChannel {
  readonly channel: Channel;
  readonly phoneNumber: string;
  /** The companion's device at the simulator, to tell whether it is connected. */
  readonly device: DeviceAddress;
  readonly creds: AuthenticationCreds;
}

export interface SeedContext {
  readonly simulator: Simulator;
  /** The composition root's adapters, as the API and the runner get them. */
  readonly platform: Pick<Platform, 'channels' | 'shardCount'>;
  readonly tenantId: string;
  readonly sessionStore: SessionStore;
  /** Leases of a cluster of the seeder's own: session writes are fenced like a runner's. */
  readonly leaseTable: LeaseTable;
  readonly concurrency: number;
}

const SEEDER = 'bench-seeder';
let numberSequence = 0;

/** Provisions and stores `count` paired channels; returns them with the pre-keys they share. */
export async function seedChannels(
  context: SeedContext,
  count: number,
): Promise<{ channels: SeededChannel[]; preKeys: KeyPair[] }> {
  const fences = await holdShards(context);
  let preKeys: KeyPair[] = [];
  try {
    const channels = await mapWithConcurrency(
      Array.from({ length: count }, (_, index) => index),
      context.concurrency,
      async () => {
        const seeded = await seedChannel(context, fences);
        if (preKeys.length === 0) preKeys = seeded.preKeys;
        return seeded.channel;
      },
    );
    return { channels, preKeys };
  } finally {
    await Promise.all([...fences.values()].map((fence) => context.leaseTable.release(fence)));
  }
}

async function holdShards(context: SeedContext): Promise<Map<number, Fence>> {
  const fences = new Map<number, Fence>();
  for (let shard = 0; shard < context.platform.shardCount; shard++) {
    const fence = await context.leaseTable.acquire(shard, SEEDER, Date.now(), 3_600_000);
    if (!fence) throw new Error(`seeding: shard ${shard} of the seeder's cluster is taken`);
    fences.set(shard, fence);
  }
  return fences;
}

async function seedChannel(
  context: SeedContext,
  fences: Map<number, Fence>,
): Promise<{ channel: SeededChannel; preKeys: KeyPair[] }> {
  const phoneNumber = `55118${process.pid % 100}${String(++numberSequence).padStart(6, '0')}`;
  const auth = provisionCompanion(context.simulator.server, phoneNumber);
  const creds = auth.creds;
  const device = context.simulator.server.accounts.resolve(creds.me?.id ?? '');
  if (!device) throw new Error(`seeding: no device for ${phoneNumber}`);

  let channel = await createChannel(context.platform, context.tenantId, { name: `Bench ${numberSequence}` });
  // Written as the runner records a pairing, not asked for through connectChannel: pairing each of a
  // thousand channels by QR would take the runner's and the simulator's time before any phase, and
  // the benchmark measures the runner restoring paired channels, not pairing them.
  for (const to of ['connecting', 'open'] as const) {
    channel = await context.platform.channels.transition(channel.tenantId, channel.id, {
      from: channel.status,
      to,
      expectedVersion: channel.version,
      at: new Date().toISOString(),
      details: to === 'open' ? { phoneNumber: `+${phoneNumber}`, lid: creds.me?.lid ?? null } : {},
    });
  }

  const fence = fences.get(channel.shard);
  if (!fence) throw new Error(`seeding: no fence for shard ${channel.shard}`);
  const ref = { tenantId: channel.tenantId, channelId: channel.id };
  const { session } = await context.sessionStore.open(ref, fence);
  const ids = Array.from({ length: (creds.nextPreKeyId ?? 1) - 1 }, (_, index) => String(index + 1));
  const stored = await auth.keys.get('pre-key', ids);
  await session.saveCreds(creds);
  await session.setKeys({ 'pre-key': stored });
  return {
    channel: { channel, phoneNumber, device, creds },
    preKeys: ids.map((id) => stored[id] as KeyPair),
  };
}
