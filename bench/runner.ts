// The runner against bare Baileys, in one run, each side in a process of its own talking to the same
// in-process simulator: memory per connected channel, send throughput, restore of stored sessions
// and failover after a kill -9. The runner side is runner/main.ts as ECS runs it, on moto (patched by
// infra/local/moto_patches.py); the bare side is bench/runner/bare-clients.ts (unmodified Baileys,
// in-memory auth). Each phase samples the CPU of the runner, moto and this process (the simulator
// and the receiving clients) from /proc, so the table says who was the bottleneck.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BufferJSON, type WAMessage } from '@whiskeysockets/baileys';
import { SessionStore } from '#runner/auth/session-store.ts';
import { installNativeCurve } from '#runner/crypto/install-native-curve.ts';
import { LeaseTable } from '#runner/leases/lease-table.ts';
import type { ChannelCommand } from '#shared/domain/commands.ts';
import { newId } from '#shared/domain/ids.ts';
import { createPlatform } from '#shared/platform.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import {
  eventually,
  provisionCompanion,
  type Simulator,
  startSimulator,
  TestCompanion,
} from '#test/simulator';
import { DEFAULT_BASELINE_OPTIONS } from './baseline.ts';
import { type Benchmark, type BenchmarkResult, type Goal, goal, type Metric } from './benchmark.ts';
import { type BenchEmulators, servedServices, startBenchEmulators } from './emulators.ts';
import { spawnBareClients } from './runner/bare-process.ts';
import { drainDownstreamQueues } from './runner/downstream.ts';
import type { Fauxqs } from './runner/fauxqs.ts';
import { CpuMeter, type CpuShare, rssOf } from './runner/proc.ts';
import { type BenchRunner, spawnBenchRunner } from './runner/runner-process.ts';
import { measureSdkCallCost, type SdkCallCost } from './runner/sdk-call-cost.ts';
import { type SeededChannel, seedChannels } from './runner/seed.ts';
import { round } from './stats.ts';

export const DEFAULT_RUNNER_BENCH_OPTIONS = {
  /** Channels of the memory and restore phases, all in one runner process. */
  runnerChannels: 1_000,
  /** Channels of the failover phase, split over two runner processes. */
  failoverChannels: 200,
  /** The runner's LEASE_TTL_SECONDS (its default). */
  leaseTtlSeconds: 30,
  /** The runner's MAX_CONCURRENT_CONNECTS (its default); the bare side gets the same bound. */
  runnerConnectConcurrency: 20,
  /** A login or restore of every channel not done by then is reported as missed (NaN), not waited for. */
  openTimeoutSeconds: 300,
  /** Messages per pair of the throughput measured with every channel connected (context, no goal). */
  loadedMessagesPerPair: 10,
  /** Quiet time before a memory reading, the same on both sides. */
  settleSeconds: 15,
  seedConcurrency: 8,
};

/** Sending pairs and messages per pair are the baseline's (`--pairs`, `--messagesPerPair`). */
type Options = typeof DEFAULT_RUNNER_BENCH_OPTIONS &
  Pick<typeof DEFAULT_BASELINE_OPTIONS, 'pairs' | 'messagesPerPair'>;

/** A process at or above this share of one core during a phase is reported as its bottleneck. */
const BOTTLENECK_SHARE = 0.9;
const MB = 1024 * 1024;
const ROOT = join(import.meta.dirname, '..');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const began = performance.now();
const log = (line: string) =>
  console.log(`  [${String(Math.round((performance.now() - began) / 1000)).padStart(4)} s] ${line}`);

/** The code measured: the commit, and whether runner/ had uncommitted changes (others work there). */
function codeUnderTest() {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    commit: git('rev-parse', 'HEAD'),
    runnerChangesUncommitted: git('status', '--porcelain', 'runner') !== '',
  };
}

async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

interface PhaseCpu {
  readonly cpu: Record<string, CpuShare>;
  /** Processes at ≥ 90 % of one core during the phase. */
  readonly bottlenecks: string[];
}

/** CPU per message of each metered process but the machine, in ms. */
function cpuPerMessage(phase: PhaseCpu, messages: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(phase.cpu)
      .filter(([name]) => name !== 'machine')
      .map(([name, share]) => [name, round((share.cpuSeconds * 1000) / messages, 1)]),
  );
}

function phaseCpu(meter: CpuMeter): PhaseCpu {
  const cpu = meter.stop();
  const bottlenecks = Object.entries(cpu)
    .filter(([name, share]) => name !== 'machine' && share.coreShare >= BOTTLENECK_SHARE)
    .map(([name]) => name);
  return { cpu, bottlenecks };
}

/** Tracks texts arriving at the receiving clients (both sides send to the same receivers). */
class Arrivals {
  private readonly arrived = new Set<string>();
  private readonly waiting = new Map<string, () => void>();

  watch(receiver: TestCompanion): void {
    receiver.socket.ev.on('messages.upsert', ({ messages }: { messages: WAMessage[] }) => {
      for (const message of messages) {
        const text = message.message?.conversation ?? message.message?.extendedTextMessage?.text;
        if (!text || message.key.fromMe) continue;
        this.arrived.add(text);
        this.waiting.get(text)?.();
      }
    });
  }

  of(texts: readonly string[], timeoutMs: number): Promise<void> {
    const all = Promise.all(
      texts.map((text) =>
        this.arrived.has(text) ? undefined : new Promise<void>((resolve) => this.waiting.set(text, resolve)),
      ),
    );
    return Promise.race([
      all.then(() => undefined),
      sleep(timeoutMs).then(() => {
        const missing = texts.filter((text) => !this.arrived.has(text)).length;
        if (missing > 0) throw new Error(`${missing} of ${texts.length} messages did not arrive`);
      }),
    ]);
  }
}

interface World {
  readonly emulators: BenchEmulators;
  readonly simulator: Simulator;
  readonly awsEnvironment: Record<string, string>;
  readonly sqs: SQSClient;
  readonly queueUrls: readonly string[];
  readonly shardCount: number;
  readonly motoPid: number | undefined;
  /** The command queues' emulator when fauxqs serves them (the default; BENCH_SQS=moto keeps moto). */
  readonly fauxqs: Fauxqs | undefined;
  /** moto's SQS: the event queues the rules fill. */
  readonly motoSqs: SQSClient;
  spawnRunner(runnerId: string, cluster: string): Promise<BenchRunner>;
  seed(count: number): Promise<SeededChannel[]>;
  readonly preKeys: { value: unknown[] };
}

async function startWorld(options: Options): Promise<World> {
  const emulators = await startBenchEmulators();
  const simulator = await startSimulator();
  const awsEnvironment = emulators.environment;
  const platform = createPlatform({ source: 'runner', env: awsEnvironment });
  const { clients, resources } = platform;
  const motoSqs = createPlatform({ source: 'runner', env: emulators.motoEnvironment }).clients.sqs;
  const tenant = await createTenant(platform, { name: 'Clínica Bench' });
  const sessionStore = new SessionStore({
    dynamo: clients.dynamo,
    kms: clients.kms,
    tableName: resources.sessionsTable,
    keyArn: resources.sessionKeyArn,
    transactionConcurrency: 1,
  });
  const preKeys = { value: [] as unknown[] };
  const runnerLog = join(
    ROOT,
    '.local',
    `bench-runners-${new Date().toISOString().replace(/[:.]/g, '-')}.log`,
  );
  await mkdir(dirname(runnerLog), { recursive: true });
  console.log(`  runner logs → ${runnerLog}`);
  const { shardCount } = platform;
  return {
    emulators,
    simulator,
    awsEnvironment,
    sqs: clients.sqs,
    queueUrls: resources.commandQueueUrls,
    shardCount,
    motoPid: emulators.motoPid,
    fauxqs: emulators.fauxqs,
    motoSqs,
    preKeys,
    spawnRunner: (runnerId, cluster) =>
      spawnBenchRunner({
        runnerId,
        cluster,
        awsEnvironment,
        leaseTtlSeconds: options.leaseTtlSeconds,
        maxConcurrentConnects: options.runnerConnectConcurrency,
        simulator,
        logFile: runnerLog,
        ...(process.env.BENCH_RUNNER_NODE_FLAGS
          ? { nodeFlags: process.env.BENCH_RUNNER_NODE_FLAGS.split(' ') }
          : {}),
      }),
    async seed(count) {
      const seeded = await seedChannels(
        {
          simulator,
          platform,
          tenantId: tenant.id,
          sessionStore,
          leaseTable: new LeaseTable(clients.dynamo, resources.sessionsTable, `bench-seed-${randomUUID()}`),
          concurrency: options.seedConcurrency,
        },
        count,
      );
      if (preKeys.value.length === 0) preKeys.value = seeded.preKeys;
      return seeded.channels;
    },
  };
}

/** The processes whose CPU a phase reports besides its own: the emulators. */
function emulatorPids(world: World): Record<string, number | undefined> {
  return { moto: world.motoPid, fauxqs: world.fauxqs?.pid };
}

/** Starts metering a phase: the processes under test, the emulators and this one (the simulator). */
function meterPhase(world: World, underTest: Record<string, number>): CpuMeter {
  return new CpuMeter({ ...underTest, ...emulatorPids(world), simulator: process.pid });
}

/** Waits until the simulator holds none of the bare process's connections for these channels. */
function bareClientsGone(world: World, channels: readonly SeededChannel[]): Promise<unknown> {
  return until(
    () => channels.every((channel) => !world.simulator.server.isConnected(channel.device)) || undefined,
    'the bare clients gone from the simulator',
    60_000,
  );
}

let lastProgress = 0;
/** True when every channel is connected at the simulator; logs the count every 15 s meanwhile. */
function allConnected(simulator: Simulator, channels: readonly SeededChannel[]): boolean {
  const connected = channels.filter((channel) => simulator.server.isConnected(channel.device)).length;
  if (connected < channels.length && performance.now() - lastProgress > 15_000) {
    lastProgress = performance.now();
    log(`  … ${connected} of ${channels.length} connected`);
  }
  return connected === channels.length;
}

/**
 * Waits until every channel is connected at the simulator, at most `timeoutSeconds` after `since`:
 * the time taken (NaN when they were not all open in time) and how many were.
 */
async function openWithin(
  simulator: Simulator,
  channels: readonly SeededChannel[],
  since: number,
  timeoutSeconds: number,
): Promise<{ ms: number; connected: number }> {
  const deadline = since + timeoutSeconds * 1000;
  while (!allConnected(simulator, channels) && performance.now() < deadline) await sleep(50);
  const connected = channels.filter((channel) => simulator.server.isConnected(channel.device)).length;
  return { ms: connected === channels.length ? performance.now() - since : Number.NaN, connected };
}

async function holdingAll(runner: BenchRunner, shardCount: number, timeoutMs: number) {
  await until(
    async () => {
      if (runner.child.exitCode !== null)
        throw new Error(`${runner.runnerId} exited (${runner.child.exitCode})`);
      return (await runner.health())?.shards.length === shardCount ? true : undefined;
    },
    `${runner.runnerId} to hold all ${shardCount} shards`,
    timeoutMs,
  );
}

/** RSS of a process with nothing connected: the runner holding every shard of an empty table. */
async function measureEmptyRunner(world: World, options: Options) {
  const runner = await world.spawnRunner('runner-empty', `bench-empty-${randomUUID()}`);
  try {
    await holdingAll(runner, world.shardCount, 120_000);
    // What an idle runner costs the emulator: every shard's consumer long-polls its queue.
    const meter = new CpuMeter({ runner: runner.pid, ...emulatorPids(world) });
    await sleep(options.settleSeconds * 1000);
    return { rssBytes: rssOf(runner.pid), idle: phaseCpu(meter) };
  } finally {
    await runner.stop();
  }
}

async function measureFailover(world: World, channels: readonly SeededChannel[], options: Options) {
  const cluster = `bench-failover-${randomUUID()}`;
  const a = await world.spawnRunner('runner-a', cluster);
  const b = await world.spawnRunner('runner-b', cluster);
  try {
    await until(
      async () => {
        const [shardsA, shardsB] = await Promise.all([a.health(), b.health()]);
        const held = (shardsA?.shards.length ?? 0) + (shardsB?.shards.length ?? 0);
        return held === world.shardCount && shardsA?.shards.length && shardsB?.shards.length
          ? true
          : undefined;
      },
      'the two runners to split the shards',
      180_000,
    );
    await until(() => allConnected(world.simulator, channels) || undefined, 'every channel open', 600_000);
    const shardsOfA = new Set((await a.health())?.shards ?? []);
    const victims = channels.filter((channel) => shardsOfA.has(channel.channel.shard));
    // A victim is back when the simulator holds a new connection for it, not the dead runner's.
    const before = new Map(
      victims.map((channel) => [channel, world.simulator.server.connectionOf(channel.device)]),
    );
    const meter = meterPhase(world, { survivor: b.pid });
    const killedAt = performance.now();
    await a.kill();
    let takeoverMs = Number.NaN;
    const takeover = holdingAll(b, world.shardCount, options.leaseTtlSeconds * 1000 + 120_000).then(() => {
      takeoverMs = performance.now() - killedAt;
    });
    await until(
      () =>
        victims.every((channel) => {
          const now = world.simulator.server.connectionOf(channel.device);
          return now !== undefined && now !== before.get(channel);
        }) || undefined,
      'every channel of the killed runner open on the survivor',
      options.leaseTtlSeconds * 1000 + 600_000,
    );
    const failoverMs = performance.now() - killedAt;
    const cpu = phaseCpu(meter);
    await takeover;
    return { channels: channels.length, victims: victims.length, failoverMs, takeoverMs, ...cpu };
  } finally {
    await a.kill();
    await b.stop();
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, sleep(ms).then(() => Promise.reject(new Error(`not done in ${ms / 1000} s`)))]);
}

/** A context-only phase that failed or timed out: its figures are NaN and the run goes on. */
const notMeasured =
  (what: string) =>
  (error: unknown): ThroughputFigures => {
    log(`  ${what} not measured: ${error instanceof Error ? error.message : String(error)}`);
    return { messages: 0, ms: Number.NaN, messagesPerSecond: Number.NaN };
  };

/** A context-only throughput with every channel connected: CPU metered, 180 s at most. */
async function loadedThroughput(
  meter: CpuMeter,
  what: string,
  measure: () => Promise<ThroughputFigures>,
): Promise<{ throughput: ThroughputFigures; throughputCpu: PhaseCpu }> {
  const throughput = await withTimeout(measure(), 180_000).catch(notMeasured(what));
  return { throughput, throughputCpu: phaseCpu(meter) };
}

interface ThroughputFigures {
  readonly messages: number;
  readonly ms: number;
  readonly messagesPerSecond: number;
  readonly enqueueMs?: number;
}

async function throughputOfBare(
  bare: Awaited<ReturnType<typeof spawnBareClients>>,
  receivers: readonly TestCompanion[],
  arrivals: Arrivals,
  options: Options,
  label: string,
): Promise<ThroughputFigures> {
  const to = (i: number) => receivers[i]?.auth.creds.me?.id.replace(/:\d+@/, '@') ?? '';
  const warmUp = receivers.map((_, i) => ({ sender: i, to: to(i), texts: [`warm-up ${label} ${i}`] }));
  await bare.request({ type: 'send', pairs: warmUp }, 'sent', 120_000);
  await arrivals.of(
    warmUp.flatMap((pair) => pair.texts),
    120_000,
  );
  const pairs = receivers.map((_, i) => ({
    sender: i,
    to: to(i),
    texts: Array.from({ length: options.messagesPerPair }, (_, n) => `${label} ${i} ${n}`),
  }));
  const started = performance.now();
  await bare.request({ type: 'send', pairs }, 'sent', 600_000);
  await arrivals.of(
    pairs.flatMap((pair) => pair.texts),
    600_000,
  );
  const ms = performance.now() - started;
  const messages = options.pairs * options.messagesPerPair;
  return { messages, ms, messagesPerSecond: (messages / ms) * 1000 };
}

/**
 * Send commands on the queues as the API puts them there (SQS FIFO of the channel's shard, group =
 * the channel, deduplicated by command id), but built here and sent ten to a batch rather than
 * through sendMessage: the phase measures the runner sending from a queue filled at once, against
 * bare Baileys sending at once. Through the API each message would first cost its record write and
 * a SendMessage of its own, one request at a time, inside the timed window — that is the API
 * benchmark's subject (bench/api.ts), not this one's. The runner records each message itself.
 */
async function enqueue(world: World, commands: readonly ChannelCommand[], shardOf: Map<string, number>) {
  const byShard = new Map<number, ChannelCommand[]>();
  for (const command of commands) {
    const shard = shardOf.get(command.channelId) ?? 0;
    byShard.set(shard, [...(byShard.get(shard) ?? []), command]);
  }
  await Promise.all(
    [...byShard].map(async ([shard, ofShard]) => {
      for (let i = 0; i < ofShard.length; i += 10) {
        await world.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: world.queueUrls[shard],
            Entries: ofShard.slice(i, i + 10).map((command, j) => ({
              Id: String(j),
              MessageBody: JSON.stringify(command),
              MessageGroupId: command.channelId,
              MessageDeduplicationId: command.commandId,
            })),
          }),
        );
      }
    }),
  );
}

/** A send command as sendMessage makes it, built here for `enqueue` (which says why). */
function sendCommand(channel: SeededChannel, receiver: TestCompanion, text: string): ChannelCommand {
  const number = receiver.auth.creds.me?.id.split(/[:@]/)[0] ?? '';
  return {
    commandId: newId('command'),
    tenantId: channel.channel.tenantId,
    channelId: channel.channel.id,
    issuedAt: new Date().toISOString(),
    type: 'send',
    messageId: newId('message'),
    message: { to: `+${number}`, type: 'text', text: { body: text } },
  };
}

async function throughputOfRunner(
  world: World,
  senders: readonly SeededChannel[],
  receivers: readonly TestCompanion[],
  arrivals: Arrivals,
  options: Options,
  label: string,
): Promise<ThroughputFigures> {
  const shardOf = new Map(senders.map((sender) => [sender.channel.id, sender.channel.shard]));
  const pairs = receivers.map((receiver, i) => ({ sender: senders[i] as SeededChannel, receiver, i }));
  const warmUp = pairs.map(({ sender, receiver, i }) =>
    sendCommand(sender, receiver, `warm-up ${label} ${i}`),
  );
  await enqueue(world, warmUp, shardOf);
  await arrivals.of(
    pairs.map(({ i }) => `warm-up ${label} ${i}`),
    120_000,
  );
  const texts: string[] = [];
  const commands: ChannelCommand[] = [];
  // Interleaved over the pairs, as the bare side's pairs send in parallel.
  for (let n = 0; n < options.messagesPerPair; n++) {
    for (const { sender, receiver, i } of pairs) {
      texts.push(`${label} ${i} ${n}`);
      commands.push(sendCommand(sender, receiver, `${label} ${i} ${n}`));
    }
  }
  const started = performance.now();
  await enqueue(world, commands, shardOf);
  const enqueueMs = performance.now() - started;
  await arrivals.of(texts, 600_000);
  const ms = performance.now() - started;
  return { messages: commands.length, ms, messagesPerSecond: (commands.length / ms) * 1000, enqueueMs };
}

interface UnloadedThroughput {
  readonly bare: ThroughputFigures;
  readonly bareCpu: PhaseCpu;
  readonly runner: ThroughputFigures;
  readonly runnerCpu: PhaseCpu;
}

/**
 * Throughput as the baseline measures it: each process holds only the sending channels (the
 * baseline's pairs), so the figure is the cost of a send, not of the other sessions around it.
 */
async function measureThroughput(
  world: World,
  senders: readonly SeededChannel[],
  receivers: readonly TestCompanion[],
  arrivals: Arrivals,
  file: string,
  options: Options,
): Promise<UnloadedThroughput> {
  const bare = await spawnBareClients();
  let bareFigures: { figures: ThroughputFigures; cpu: PhaseCpu };
  try {
    await bare.request({ type: 'load', file, limit: senders.length }, 'loaded');
    await bare.request(
      {
        type: 'connect',
        concurrency: options.runnerConnectConcurrency,
        wsUrl: world.simulator.wsUrl,
        trustRoot: world.simulator.rootPublicKey.toString('base64'),
      },
      'open',
      120_000,
    );
    const meter = meterPhase(world, { bare: bare.pid });
    const figures = await throughputOfBare(bare, receivers, arrivals, options, 'bare');
    bareFigures = { figures, cpu: phaseCpu(meter) };
  } finally {
    await bare.kill();
  }
  await bareClientsGone(world, senders);
  const runner = await world.spawnRunner('runner-throughput', `bench-throughput-${randomUUID()}`);
  try {
    await holdingAll(runner, world.shardCount, 120_000);
    await until(() => allConnected(world.simulator, senders) || undefined, 'the senders open', 300_000);
    const meter = meterPhase(world, { runner: runner.pid });
    const figures = await throughputOfRunner(world, senders, receivers, arrivals, options, 'runner');
    return {
      bare: bareFigures.figures,
      bareCpu: bareFigures.cpu,
      runner: figures,
      runnerCpu: phaseCpu(meter),
    };
  } finally {
    await runner.stop();
  }
}

export const runnerBenchmark: Benchmark = {
  name: 'runner',
  async run(overrides): Promise<BenchmarkResult> {
    const options: Options = {
      ...DEFAULT_RUNNER_BENCH_OPTIONS,
      pairs: DEFAULT_BASELINE_OPTIONS.pairs,
      messagesPerPair: DEFAULT_BASELINE_OPTIONS.messagesPerPair,
      ...pick(overrides),
    };
    if (options.failoverChannels > options.runnerChannels)
      throw new Error('runner bench: --failoverChannels must not exceed --runnerChannels');
    if (options.pairs > options.failoverChannels)
      throw new Error('runner bench: --pairs must not exceed --failoverChannels');
    const startedAt = new Date().toISOString();
    // The simulator and the receiving clients live in this process, the same for both sides.
    installNativeCurve();
    const world = await startWorld(options);
    const downstream = drainDownstreamQueues(world.motoSqs, [
      world.awsEnvironment.RECORDER_QUEUE_URL ?? '',
      world.awsEnvironment.WEBHOOK_QUEUE_URL ?? '',
    ]);
    const receivers: TestCompanion[] = [];
    const bareFile = join(tmpdir(), `clinic-wa-bench-${randomUUID()}.json`);
    try {
      log('an AWS SDK call against an endpoint that answers at once…');
      const sdkCall = await measureSdkCallCost();
      log(`  ${round(sdkCall.cpuMsPerCall, 2)} ms of CPU per call`);
      log('runner with no channels…');
      const empty = await measureEmptyRunner(world, options);

      const arrivals = new Arrivals();
      for (let i = 0; i < options.pairs; i++) {
        const auth = provisionCompanion(world.simulator.server, `5511966${String(i).padStart(6, '0')}`);
        const receiver = new TestCompanion(world.simulator, auth, 'always');
        receivers.push(receiver);
        arrivals.watch(receiver);
      }
      await Promise.all(
        receivers.map((receiver) => eventually(() => receiver.log.opens > 0, 'receiver open', 60_000)),
      );
      const writeBareFile = () =>
        writeFile(
          bareFile,
          JSON.stringify(
            { preKeys: world.preKeys.value, creds: seeded.map((c) => c.creds) },
            BufferJSON.replacer,
          ),
        );

      log(`seeding ${options.pairs} sending channels…`);
      const seeded = await world.seed(options.pairs);
      await writeBareFile();
      log(
        `throughput, ${options.pairs} pairs × ${options.messagesPerPair}, only the senders in each process…`,
      );
      const throughput = await measureThroughput(world, seeded, receivers, arrivals, bareFile, options);
      log(
        `  bare ${round(throughput.bare.messagesPerSecond)} messages/s, runner ${round(throughput.runner.messagesPerSecond)} messages/s`,
      );

      log(`seeding ${options.failoverChannels - options.pairs} more channels…`);
      seeded.push(...(await world.seed(options.failoverChannels - options.pairs)));
      log(`failover of ${options.failoverChannels} channels (kill -9 one of two runners)…`);
      const failover = await measureFailover(world, seeded, options);
      log(`  failover ${round(failover.failoverMs / 1000)} s (${failover.victims} channels)`);

      log(`seeding ${options.runnerChannels - options.failoverChannels} more channels…`);
      seeded.push(...(await world.seed(options.runnerChannels - options.failoverChannels)));
      await writeBareFile();

      log(
        `bare Baileys: log ${options.runnerChannels} clients in, ${options.runnerConnectConcurrency} at a time…`,
      );
      const bare = await spawnBareClients();
      let bareFigures: {
        emptyRssBytes: number;
        rssBytes: number;
        loginMs: number;
        connected: number;
        login: PhaseCpu;
        throughput: ThroughputFigures;
        throughputCpu: PhaseCpu;
      };
      try {
        await sleep(options.settleSeconds * 1000);
        const emptyRssBytes = rssOf(bare.pid);
        await bare.request({ type: 'load', file: bareFile }, 'loaded');
        const meter = meterPhase(world, { bare: bare.pid });
        const started = performance.now();
        const opened = bare.request(
          {
            type: 'connect',
            concurrency: options.runnerConnectConcurrency,
            wsUrl: world.simulator.wsUrl,
            trustRoot: world.simulator.rootPublicKey.toString('base64'),
          },
          'open',
          1_800_000,
        );
        opened.catch(() => undefined); // not awaited when the phase times out
        const { ms: loginMs, connected: bareConnected } = await openWithin(
          world.simulator,
          seeded,
          started,
          options.openTimeoutSeconds,
        );
        const login = phaseCpu(meter);
        log(`  ${round(loginMs / 1000)} s (${bareConnected} of ${seeded.length} open)`);
        await sleep(options.settleSeconds * 1000);
        const rssBytes = rssOf(bare.pid);
        log('bare Baileys: throughput…');
        const { throughput, throughputCpu } = await loadedThroughput(
          meterPhase(world, { bare: bare.pid }),
          'bare throughput with every client connected',
          () =>
            throughputOfBare(
              bare,
              receivers,
              arrivals,
              { ...options, messagesPerPair: options.loadedMessagesPerPair },
              'bare-loaded',
            ),
        );
        log(`  ${round(throughput.messagesPerSecond)} messages/s`);
        bareFigures = {
          emptyRssBytes,
          rssBytes,
          loginMs,
          connected: bareConnected,
          login,
          throughput,
          throughputCpu,
        };
      } finally {
        await bare.kill();
      }
      await bareClientsGone(world, seeded);

      log(`runner: restore ${options.runnerChannels} channels in one process…`);
      let stopMs = Number.NaN;
      const runner = await world.spawnRunner('runner-restore', `bench-restore-${randomUUID()}`);
      let runnerFigures: {
        startToLeasesMs: number;
        restoreMs: number;
        connected: number;
        restore: PhaseCpu;
        rssBytes: number;
        sessions: Partial<Record<string, number>>;
        throughput: ThroughputFigures;
        throughputCpu: PhaseCpu;
      };
      try {
        const spawnedAt = performance.now();
        const meter = meterPhase(world, { runner: runner.pid });
        await holdingAll(runner, world.shardCount, 120_000);
        const leasesAt = performance.now();
        const { ms: restoreMs, connected: runnerConnected } = await openWithin(
          world.simulator,
          seeded,
          leasesAt,
          options.openTimeoutSeconds,
        );
        const restore = phaseCpu(meter);
        log(`  ${round(restoreMs / 1000)} s after the leases (${runnerConnected} of ${seeded.length} open)`);
        await sleep(options.settleSeconds * 1000);
        const rssBytes = rssOf(runner.pid);
        const sessions = (await runner.health())?.sessions ?? {};
        // With bench/runner/aws-trace.ts loaded, the restore's AWS calls are summarised apart.
        if (process.env.BENCH_AWS_TRACE_DIR) runner.child.kill('SIGUSR2');
        log('runner: throughput (send commands through SQS)…');
        const { throughput, throughputCpu } = await loadedThroughput(
          meterPhase(world, { runner: runner.pid }),
          'runner throughput with every channel connected',
          () =>
            throughputOfRunner(
              world,
              seeded,
              receivers,
              arrivals,
              { ...options, messagesPerPair: options.loadedMessagesPerPair },
              'runner-loaded',
            ),
        );
        log(`  ${round(throughput.messagesPerSecond)} messages/s`);
        runnerFigures = {
          startToLeasesMs: leasesAt - spawnedAt,
          restoreMs,
          connected: runnerConnected,
          restore,
          rssBytes,
          sessions,
          throughput,
          throughputCpu,
        };
      } finally {
        stopMs = await runner.stop();
      }

      return report(options, startedAt, world, empty, throughput, sdkCall, failover, bareFigures, {
        ...runnerFigures,
        stopMs,
      });
    } finally {
      await downstream.stop();
      for (const receiver of receivers) receiver.stop();
      await rm(bareFile, { force: true });
      await world.simulator.stop();
      world.sqs.destroy();
      world.motoSqs.destroy();
      await world.emulators.stop();
    }
  },
};

function pick(overrides: Record<string, number>): Partial<Options> {
  const names = [...Object.keys(DEFAULT_RUNNER_BENCH_OPTIONS), 'pairs', 'messagesPerPair'];
  return Object.fromEntries(Object.entries(overrides).filter(([name]) => names.includes(name)));
}

function report(
  options: Options,
  startedAt: string,
  world: World,
  empty: { rssBytes: number; idle: PhaseCpu },
  throughput: UnloadedThroughput,
  sdkCall: SdkCallCost,
  failover: Awaited<ReturnType<typeof measureFailover>>,
  bare: {
    emptyRssBytes: number;
    rssBytes: number;
    loginMs: number;
    connected: number;
    login: PhaseCpu;
    throughput: ThroughputFigures;
    throughputCpu: PhaseCpu;
  },
  runner: {
    startToLeasesMs: number;
    restoreMs: number;
    connected: number;
    stopMs: number;
    restore: PhaseCpu;
    rssBytes: number;
    sessions: Partial<Record<string, number>>;
    throughput: ThroughputFigures;
    throughputCpu: PhaseCpu;
  },
): BenchmarkResult {
  const n = options.runnerChannels;
  const bareMbPerClient = (bare.rssBytes - bare.emptyRssBytes) / n / MB;
  const runnerMbPerChannel = (runner.rssBytes - empty.rssBytes) / n / MB;
  const failoverSeconds = failover.failoverMs / 1000;
  const goals: Goal[] = [
    goal(
      `memory per connected channel (N = ${n})`,
      runnerMbPerChannel,
      bareMbPerClient,
      'MB RSS',
      { max: 1.5 },
      '≤ 1.5× bare',
    ),
    goal(
      `send throughput (${options.pairs} pairs × ${options.messagesPerPair})`,
      throughput.runner.messagesPerSecond,
      throughput.bare.messagesPerSecond,
      'messages/s',
      { min: 0.8 },
      '≥ 0.8× bare',
    ),
    goal(
      `restore ${n} channels (leases → all open)`,
      runner.restoreMs / 1000,
      bare.loginMs / 1000,
      's',
      { max: 1.2 },
      '≤ 1.2× bare login',
    ),
    {
      name: `failover of ${options.failoverChannels} channels (kill -9 → all open)`,
      goal: `≤ lease TTL + 10 s = ${options.leaseTtlSeconds + 10} s`,
      measured: round(failoverSeconds, 1),
      reference: options.leaseTtlSeconds + 10,
      unit: 's',
      ratio: round(failoverSeconds / (options.leaseTtlSeconds + 10), 2),
      pass: failoverSeconds <= options.leaseTtlSeconds + 10,
    },
  ];
  const share = (phase: PhaseCpu, name: string) => phase.cpu[name]?.coreShare ?? Number.NaN;
  // Each side's metered CPU includes its warm-up, one message per pair.
  const runnerSide = cpuPerMessage(throughput.runnerCpu, throughput.runner.messages + options.pairs);
  const bareSide = cpuPerMessage(throughput.bareCpu, throughput.bare.messages + options.pairs);
  // What 0.8× bare would take on the runner's side at the CPU per message measured here.
  const goalMessagesPerSecond = 0.8 * throughput.bare.messagesPerSecond;
  const coresForGoal =
    (goalMessagesPerSecond * Object.values(runnerSide).reduce((sum, ms) => sum + ms, 0)) / 1000;
  const perMessage = (side: Record<string, number>, name: string) => side[name] ?? Number.NaN;
  const metrics: Metric[] = [
    { name: 'runner RSS, no channels', value: round(empty.rssBytes / MB), unit: 'MB' },
    { name: 'idle runner, no channels: runner CPU', value: share(empty.idle, 'runner'), unit: 'cores' },
    { name: 'idle runner, no channels: moto CPU', value: share(empty.idle, 'moto'), unit: 'cores' },
    { name: `runner RSS, ${n} channels open`, value: round(runner.rssBytes / MB), unit: 'MB' },
    { name: 'bare process RSS, no clients', value: round(bare.emptyRssBytes / MB), unit: 'MB' },
    { name: `bare process RSS, ${n} clients open`, value: round(bare.rssBytes / MB), unit: 'MB' },
    { name: `bare login of ${n} clients`, value: round(bare.loginMs / 1000), unit: 's' },
    { name: '  bare clients open at the end', value: bare.connected, unit: '' },
    { name: 'runner start → all leases held', value: round(runner.startToLeasesMs / 1000), unit: 's' },
    { name: `runner restore of ${n} channels`, value: round(runner.restoreMs / 1000), unit: 's' },
    { name: '  runner channels open at the end', value: runner.connected, unit: '' },
    {
      name: `runner SIGTERM → exit with ${n} channels (NaN: SIGKILL after 30 s)`,
      value: round(runner.stopMs / 1000),
      unit: 's',
    },
    { name: 'restore: runner CPU', value: share(runner.restore, 'runner'), unit: 'cores' },
    { name: 'restore: moto CPU', value: share(runner.restore, 'moto'), unit: 'cores' },
    { name: 'restore: simulator process CPU', value: share(runner.restore, 'simulator'), unit: 'cores' },
    { name: 'restore: machine busy (all processes)', value: share(runner.restore, 'machine'), unit: 'cores' },
    { name: 'bare login: bare process CPU', value: share(bare.login, 'bare'), unit: 'cores' },
    { name: 'bare login: simulator process CPU', value: share(bare.login, 'simulator'), unit: 'cores' },
    { name: 'bare login: machine busy (all processes)', value: share(bare.login, 'machine'), unit: 'cores' },
    {
      name: `throughput, ${options.pairs} senders per process: bare`,
      value: round(throughput.bare.messagesPerSecond),
      unit: 'messages/s',
    },
    {
      name: `throughput, ${options.pairs} senders per process: runner`,
      value: round(throughput.runner.messagesPerSecond),
      unit: 'messages/s',
    },
    {
      name: `  enqueue ${throughput.runner.messages} commands`,
      value: round((throughput.runner.enqueueMs ?? Number.NaN) / 1000, 2),
      unit: 's',
    },
    { name: '  runner CPU', value: share(throughput.runnerCpu, 'runner'), unit: 'cores' },
    { name: '  moto CPU', value: share(throughput.runnerCpu, 'moto'), unit: 'cores' },
    { name: '  machine busy (all processes)', value: share(throughput.runnerCpu, 'machine'), unit: 'cores' },
    { name: '  bare process CPU (bare run)', value: share(throughput.bareCpu, 'bare'), unit: 'cores' },
    { name: '  CPU per message: runner', value: perMessage(runnerSide, 'runner'), unit: 'ms' },
    { name: '  CPU per message: moto', value: perMessage(runnerSide, 'moto'), unit: 'ms' },
    ...(world.fauxqs
      ? [{ name: '  CPU per message: fauxqs', value: perMessage(runnerSide, 'fauxqs'), unit: 'ms' }]
      : []),
    { name: '  CPU per message: simulator process', value: perMessage(runnerSide, 'simulator'), unit: 'ms' },
    { name: '  CPU per message: bare (bare run)', value: perMessage(bareSide, 'bare'), unit: 'ms' },
    {
      name: '  CPU per message: simulator process (bare run)',
      value: perMessage(bareSide, 'simulator'),
      unit: 'ms',
    },
    {
      name: '  AWS SDK call, endpoint answering at once: CPU',
      value: round(sdkCall.cpuMsPerCall, 2),
      unit: 'ms',
    },
    {
      name: `  cores ≥ 0.8× bare needs at these costs (machine: ${availableParallelism()})`,
      value: round(coresForGoal, 1),
      unit: 'cores',
    },
    {
      name: `throughput, ${n} connected in the process: bare`,
      value: round(bare.throughput.messagesPerSecond),
      unit: 'messages/s',
    },
    {
      name: `throughput, ${n} connected in the process: runner`,
      value: round(runner.throughput.messagesPerSecond),
      unit: 'messages/s',
    },
    { name: '  runner CPU', value: share(runner.throughputCpu, 'runner'), unit: 'cores' },
    { name: '  moto CPU', value: share(runner.throughputCpu, 'moto'), unit: 'cores' },
    { name: '  bare process CPU (bare run)', value: share(bare.throughputCpu, 'bare'), unit: 'cores' },
    { name: `failover: channels of the killed runner`, value: failover.victims, unit: '' },
    {
      name: 'failover: kill → survivor holds every shard',
      value: round(failover.takeoverMs / 1000),
      unit: 's',
    },
    { name: 'failover: kill → all open', value: round(failoverSeconds), unit: 's' },
    { name: 'failover: survivor CPU', value: share(failover, 'survivor'), unit: 'cores' },
    { name: 'failover: moto CPU', value: share(failover, 'moto'), unit: 'cores' },
  ];
  const ratio = (index: number) => goals[index]?.ratio ?? Number.NaN;
  return {
    name: 'runner',
    startedAt,
    parameters: { ...options },
    metrics,
    goals,
    memoryPerChannelRatio: ratio(0),
    sendThroughputRatio: ratio(1),
    restoreRatio: ratio(2),
    restoreSeconds: round(runner.restoreMs / 1000, 1),
    failoverSeconds: round(failoverSeconds, 1),
    leaseTtlSeconds: options.leaseTtlSeconds,
    channels: {
      memory: n,
      restore: n,
      failover: options.failoverChannels,
      failoverOfKilledRunner: failover.victims,
      sendingPairs: options.pairs,
      messagesPerPair: options.messagesPerPair,
      shards: world.shardCount,
    },
    raw: {
      memory: {
        runnerEmptyRssBytes: empty.rssBytes,
        runnerRssBytes: runner.rssBytes,
        runnerMbPerChannel: round(runnerMbPerChannel, 3),
        runnerSessionsByState: runner.sessions,
        bareEmptyRssBytes: bare.emptyRssBytes,
        bareRssBytes: bare.rssBytes,
        bareMbPerClient: round(bareMbPerClient, 3),
        settleSeconds: options.settleSeconds,
      },
      restore: {
        runnerStartToLeasesMs: round(runner.startToLeasesMs),
        runnerLeasesToOpenMs: round(runner.restoreMs),
        runnerOpenAtEnd: runner.connected,
        bareConnectToOpenMs: round(bare.loginMs),
        bareOpenAtEnd: bare.connected,
        timeoutSeconds: options.openTimeoutSeconds,
        runnerSigtermToExitMs: round(runner.stopMs),
        connectConcurrency: options.runnerConnectConcurrency,
        runnerCpu: runner.restore,
        bareCpu: bare.login,
      },
      throughput: {
        // The goal's figures: each process holds only the senders, as in the baseline.
        ...throughput,
        cpuMsPerMessage: { runnerSide, bareSide },
        sdkCall,
        goalMessagesPerSecond: round(goalMessagesPerSecond, 1),
        coresForGoal: round(coresForGoal, 2),
        machineCores: availableParallelism(),
        underLoad: {
          connectedInProcess: n,
          runner: runner.throughput,
          bare: bare.throughput,
          runnerCpu: runner.throughputCpu,
          bareCpu: bare.throughputCpu,
        },
      },
      failover,
      idleRunnerCpu: empty.idle,
    },
    emulators: emulators(world),
    code: codeUnderTest(),
  } as BenchmarkResult;
}

/** Which emulator served each AWS service the runner uses. */
function emulators(world: World) {
  return {
    services: servedServices(world.emulators),
    bottleneckRule: `a process at ≥ ${BOTTLENECK_SHARE * 100} % of one core during a phase (CPU from /proc/<pid>/stat)`,
  };
}
