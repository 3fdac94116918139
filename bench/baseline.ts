// The bare-Baileys baseline: unmodified Baileys clients against the simulator, in one process.
// Later benchmarks (the runner, the platform) compare their figures with these.
import { performance } from 'node:perf_hooks';
import type { WAMessage } from '@whiskeysockets/baileys';
import {
  eventually,
  provisionCompanion,
  type Simulator,
  startSimulator,
  TestCompanion,
} from '#test/simulator';
import type { Benchmark, BenchmarkResult, Metric } from './benchmark.ts';
import { mapWithConcurrency, percentile, round, settledRss, timed } from './stats.ts';

export const DEFAULT_BASELINE_OPTIONS = {
  pairings: 5,
  loginClients: 10,
  loginRounds: 5,
  latencyMessages: 200,
  pairs: 10,
  messagesPerPair: 50,
  memoryClients: 1_000,
  // The runner's own bound on concurrent logins, so both sides open their clients alike.
  connectConcurrency: 20,
};

type Options = typeof DEFAULT_BASELINE_OPTIONS;

let numberSequence = 0;
const nextNumber = () => `55119${String(++numberSequence).padStart(8, '0')}`;

function connected(
  simulator: Simulator,
  auth = provisionCompanion(simulator.server, nextNumber()),
  reconnect: boolean | 'always' = false,
): TestCompanion {
  return new TestCompanion(simulator, auth, reconnect);
}

async function open(companion: TestCompanion, timeoutMs = 120_000): Promise<TestCompanion> {
  await eventually(() => companion.log.opens > 0, 'connection open', timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message} (closes so far: ${companion.log.closes.join(', ') || 'none'})`);
  });
  return companion;
}

async function measurePairing(simulator: Simulator, options: Options): Promise<Metric[]> {
  const phone = await simulator.phones.create(nextNumber());
  const toQr: number[] = [];
  const scanToOpen: number[] = [];
  for (let round = 0; round < options.pairings; round++) {
    const started = performance.now();
    const companion = new TestCompanion(simulator);
    const qr = await eventually(() => companion.log.qrs[0], 'QR', 60_000);
    toQr.push(performance.now() - started);
    const { ms } = await timed(async () => {
      await phone.scanQr(qr);
      await open(companion);
    });
    scanToOpen.push(ms);
    companion.stop();
  }
  return [
    { name: 'pairing: connect → QR, p50', value: round(percentile(toQr, 0.5)), unit: 'ms' },
    {
      name: 'pairing: scan → open (first login, prekey upload), p50',
      value: round(percentile(scanToOpen, 0.5)),
      unit: 'ms',
    },
  ];
}

async function measureReturningLogin(simulator: Simulator, options: Options): Promise<Metric[]> {
  const auths = Array.from({ length: options.loginClients }, () =>
    provisionCompanion(simulator.server, nextNumber()),
  );
  const samples: number[] = [];
  for (let round = 0; round < options.loginRounds; round++) {
    for (const auth of auths) {
      const { ms, value: companion } = await timed(() => open(connected(simulator, auth)));
      samples.push(ms);
      companion.stop();
      await eventually(() => simulator.server.connectedCount === 0 || undefined, 'disconnect', 10_000).catch(
        () => undefined,
      );
    }
  }
  return [
    { name: 'returning login, p50', value: round(percentile(samples, 0.5)), unit: 'ms' },
    { name: 'returning login, p99', value: round(percentile(samples, 0.99)), unit: 'ms' },
  ];
}

/** Resolves when `receiver` upserts the message with `id`. */
function arrivals(receiver: TestCompanion) {
  const waiting = new Map<string, () => void>();
  const arrived = new Set<string>();
  receiver.socket.ev.on('messages.upsert', ({ messages }: { messages: WAMessage[] }) => {
    for (const message of messages) {
      const id = message.key.id;
      if (!id || message.key.fromMe) continue;
      arrived.add(id);
      waiting.get(id)?.();
    }
  });
  return (id: string) =>
    arrived.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve));
}

/**
 * Bare Baileys' one-way latency: texts from one fresh client to another, each sent once the one
 * before arrived, timed from `sendMessage` to the receiver's upsert. The first five set up the
 * Signal session (key fetch, pkmsg) and are not counted: not steady state.
 */
export async function oneWayLatencySamples(simulator: Simulator, messages: number): Promise<number[]> {
  const [sender, receiver] = await Promise.all([open(connected(simulator)), open(connected(simulator))]);
  if (!sender || !receiver) throw new Error('latency pair missing');
  const arrivalOf = arrivals(receiver);
  const to = receiver.auth.creds.me?.id.replace(/:\d+@/, '@') ?? '';
  const samples: number[] = [];
  try {
    for (let index = 0; index < messages + 5; index++) {
      const started = performance.now();
      const sent = await sender.socket.sendMessage(to, { text: `latency ${index}` });
      await arrivalOf(sent?.key.id ?? '');
      if (index >= 5) samples.push(performance.now() - started);
    }
  } finally {
    sender.stop();
    receiver.stop();
  }
  return samples;
}

async function measureLatency(simulator: Simulator, options: Options): Promise<Metric[]> {
  const samples = await oneWayLatencySamples(simulator, options.latencyMessages);
  return [
    { name: 'one-way latency, p50', value: round(percentile(samples, 0.5), 2), unit: 'ms' },
    { name: 'one-way latency, p99', value: round(percentile(samples, 0.99), 2), unit: 'ms' },
  ];
}

async function measureThroughput(simulator: Simulator, options: Options): Promise<Metric[]> {
  const pairs = await Promise.all(
    Array.from({ length: options.pairs }, async () => {
      const [sender, receiver] = await Promise.all([open(connected(simulator)), open(connected(simulator))]);
      if (!sender || !receiver) throw new Error('pair missing');
      const to = receiver.auth.creds.me?.id.replace(/:\d+@/, '@') ?? '';
      const arrivalOf = arrivals(receiver);
      const warmUp = await sender.socket.sendMessage(to, { text: 'warm-up' });
      await arrivalOf(warmUp?.key.id ?? '');
      return { sender, to, arrivalOf };
    }),
  );
  const { ms } = await timed(() =>
    Promise.all(
      pairs.map(async ({ sender, to, arrivalOf }) => {
        const ids: string[] = [];
        for (let index = 0; index < options.messagesPerPair; index++) {
          const sent = await sender.socket.sendMessage(to, { text: `throughput ${index}` });
          ids.push(sent?.key.id ?? '');
        }
        await Promise.all(ids.map(arrivalOf));
      }),
    ),
  );
  for (const { sender } of pairs) sender.stop();
  const delivered = options.pairs * options.messagesPerPair;
  return [
    { name: `throughput, ${options.pairs} pairs`, value: round((delivered / ms) * 1000), unit: 'messages/s' },
  ];
}

async function measureMemory(simulator: Simulator, options: Options): Promise<Metric[]> {
  const before = settledRss();
  const { ms: provisionMs, value: auths } = await timed(async () =>
    Array.from({ length: options.memoryClients }, () => provisionCompanion(simulator.server, nextNumber())),
  );
  const { ms: connectMs, value: companions } = await timed(() =>
    // Under load a client may lose its first connection (handshake time-out); like any client it
    // reconnects, and the phase counts it once open. Each gets 5 min.
    mapWithConcurrency(auths, options.connectConcurrency, (auth) =>
      open(connected(simulator, auth, 'always'), 300_000),
    ),
  );
  const after = settledRss();
  const perClient = (after - before) / options.memoryClients;
  for (const companion of companions) companion.stop();
  return [
    {
      name: `memory per connected client (N = ${options.memoryClients}, client keys + server state)`,
      value: round(perClient / 1024 / 1024, 2),
      unit: 'MB RSS',
    },
    {
      name: `connect ${options.memoryClients} clients (${options.connectConcurrency} at a time)`,
      value: round(connectMs / 1000, 1),
      unit: 's',
    },
    { name: `provision ${options.memoryClients} clients`, value: round(provisionMs / 1000, 1), unit: 's' },
  ];
}

export const baseline: Benchmark = {
  name: 'baseline',
  async run(overrides): Promise<BenchmarkResult> {
    const options: Options = { ...DEFAULT_BASELINE_OPTIONS, ...overrides };
    const startedAt = new Date().toISOString();
    const metrics: Metric[] = [];
    // Separate simulators so each phase starts from an empty server.
    for (const phase of [
      measurePairing,
      measureReturningLogin,
      measureLatency,
      measureThroughput,
      measureMemory,
    ]) {
      const simulator = await startSimulator();
      console.log(`  ${phase.name.replace(/^measure/, '')}…`);
      try {
        metrics.push(...(await phase(simulator, options)));
      } catch (error) {
        // One failed phase must not lose the others' figures.
        console.error(`  ${phase.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        metrics.push({ name: `${phase.name.replace(/^measure/, '')} FAILED`, value: Number.NaN, unit: '' });
      } finally {
        await simulator.stop();
      }
    }
    return { name: 'baseline', startedAt, parameters: options, metrics };
  },
};
