// Platform events through the webhook dispatcher to a clinic's receiver, against a bare loop that
// signs and POSTs the same deliveries to the same receiver, in one run:
// - throughput: a burst of events published as a runner publishes them (its CoalescingEventPublisher
//   over the platform's EventBridgePublisher) to moto's bus, routed by the stack's rules to the
//   webhook event queue, fanned out and delivered by the dispatcher (its Lambda handlers under the
//   local SQS event source, in a process of its own, as `npm start` runs them) to a loopback HTTP
//   receiver that verifies every request with `standardwebhooks`; events per second from the first
//   publish to the last arrival;
// - latency: events published one by one at a steady rate (a share of the throughput measured), each
//   delivery timed from the runner's publish call to its arrival at the receiver;
// - the bare loop (bench/events/bare-loop.ts, its own process): the throughput phase's deliveries,
//   signed and POSTed one after another, and as wide as the dispatcher's worker may go.
// Every phase checks that each delivery came exactly once, verified, and nothing else.
// docs/events-benchmark.md says what is measured and why the baseline is fair.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { WEBHOOK_DISPATCHER_SOURCES } from '#functions/consumers/webhook-dispatcher.ts';
import { CoalescingEventPublisher } from '#runner/events/coalescing-event-publisher.ts';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import type { Webhook, WebhookEventFilter } from '#shared/domain/webhook.ts';
import { createPlatform, type Platform } from '#shared/platform.ts';
import { createTenant } from '#shared/use-cases/tenants.ts';
import { issueSecret } from '#shared/use-cases/webhook-secrets.ts';
import { CallTrace, callsPerRequest, type TraceSummary } from './api/call-trace.ts';
import { type Benchmark, type BenchmarkResult, type Goal, goal, type Metric } from './benchmark.ts';
import { type BenchEmulators, servedServices, startBenchEmulators } from './emulators.ts';
import type { BareDelivery } from './events/bare-loop.ts';
import {
  type BareLoopProcess,
  type DispatcherProcess,
  LOCAL_POLLERS_PER_QUEUE,
  spawnBareLoop,
  spawnDispatcher,
} from './events/processes.ts';
import { type Arrival, type BenchReceiver, startBenchReceiver } from './events/receiver.ts';
import {
  type BenchClinic,
  CLINICS,
  checkDeliveries,
  type DeliveryCheck,
  EventStream,
  type ExpectedDelivery,
  expectedDeliveries,
} from './events/workload.ts';
import { drainDownstreamQueues } from './runner/downstream.ts';
import { CpuMeter, type CpuShare } from './runner/proc.ts';
import { distribution, round } from './stats.ts';

export const DEFAULT_EVENTS_BENCH_OPTIONS = {
  /** Events of the throughput phase, published at once. Also `BENCH_EVENTS`. */
  events: 400,
  /** Events of the latency phase, published at a steady rate. Also `BENCH_LATENCY_EVENTS`. */
  latencyEvents: 150,
  /** The latency phase's rate, in % of the events per second the throughput phase measured. */
  latencyLoadPercent: 50,
  /** Unmeasured events first (connections, caches, the emulators' code paths). */
  warmUpEvents: 50,
  /** Invocations at once per queue, as the local event source runs them (`npm start`: 2). */
  dispatcherPollers: LOCAL_POLLERS_PER_QUEUE,
  /** Rounds of each bare loop; the median is kept. */
  bareRounds: 3,
};

type Options = typeof DEFAULT_EVENTS_BENCH_OPTIONS;

const ROOT = join(import.meta.dirname, '..');
const THROUGHPUT_GOAL = 0.5;
const LATENCY_P99_GOAL_MS = 1_000;
/** A phase waiting for arrivals gives up after this long without one. */
const STALL_MS = 30_000;
/** After the last expected arrival, how long strays and duplicates are waited for. */
const GRACE_MS = 2_000;
/** Reads of one delivery timed on moto alone, after the dispatcher stopped. */
const EMULATOR_PROBE_CALLS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const began = performance.now();
const log = (line: string) =>
  console.log(`  [${String(Math.round((performance.now() - began) / 1000)).padStart(4)} s] ${line}`);

/** The option's environment variable: `latencyEvents` → `BENCH_LATENCY_EVENTS`. */
export function optionEnvironmentName(option: string): string {
  return `BENCH_${option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** Defaults, then the environment (`BENCH_EVENTS=…`), then the command line (`--events …`). */
export function eventsBenchOptions(
  overrides: Record<string, number>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Options {
  const options: Record<string, number> = { ...DEFAULT_EVENTS_BENCH_OPTIONS };
  for (const name of Object.keys(DEFAULT_EVENTS_BENCH_OPTIONS)) {
    const raw = env[optionEnvironmentName(name)];
    if (raw !== undefined) {
      const value = Number(raw);
      if (!Number.isInteger(value) || value <= 0) {
        throw new Error(
          `events bench: ${optionEnvironmentName(name)} must be a positive integer, got '${raw}'`,
        );
      }
      options[name] = value;
    }
    if (overrides[name] !== undefined) options[name] = overrides[name];
  }
  return options as Options;
}

interface PhaseCpu {
  readonly cpu: Record<string, CpuShare>;
  /** Cores the machine spent on processes other than the metered ones (other users' work). */
  readonly othersCores: number;
}

function phaseCpu(meter: CpuMeter): PhaseCpu {
  const cpu = meter.stop();
  const ours = Object.entries(cpu)
    .filter(([name]) => name !== 'machine')
    .reduce((sum, [, share]) => sum + share.coreShare, 0);
  return { cpu, othersCores: round((cpu.machine?.coreShare ?? 0) - ours, 2) };
}

/** The clinics as a clinic sets them up: a tenant each, channels, webhooks with secrets of their own. */
async function setUpClinics(platform: Platform, receiver: BenchReceiver): Promise<BenchClinic[]> {
  const clinics: BenchClinic[] = [];
  for (const spec of CLINICS) {
    const tenantId = (await createTenant(platform, { name: spec.name })).id;
    const channelIds = Array.from({ length: spec.channels }, () => newId('channel'));
    const webhooks = [];
    for (const settings of spec.webhooks) {
      const now = new Date();
      const id = newId('webhook');
      // Sealed under the stack's webhook-secrets key, as the API keeps it: the dispatcher opens it.
      const { secret, kept } = await issueSecret(platform.webhookSecrets, { tenantId, webhookId: id }, now);
      const webhook: Webhook = {
        id,
        tenantId,
        url: receiver.urlOf(id),
        description: 'events benchmark',
        events: settings.events as WebhookEventFilter[],
        channelIds: settings.channels?.map((index) => channelIds[index] as string) ?? null,
        status: 'enabled',
        disabledReason: null,
        secrets: [kept],
        failingSince: null,
        version: 1,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      await platform.webhooks.create(webhook);
      receiver.expect(id, secret);
      webhooks.push({
        id,
        tenantId,
        events: webhook.events,
        channelIds: webhook.channelIds,
        secret,
      });
    }
    clinics.push({ tenantId, channelIds, webhooks, weight: spec.weight });
  }
  return clinics;
}

/** The first verified arrival of each expected delivery, by its webhook and id. */
function firstArrivals(arrivals: readonly Arrival[]): Map<string, Arrival> {
  const first = new Map<string, Arrival>();
  for (const arrival of arrivals) {
    const key = `${arrival.webhookId}/${arrival.messageId}`;
    if (arrival.verified && !first.has(key)) first.set(key, arrival);
  }
  return first;
}

/** Waits for a phase's deliveries (and a grace for strays), then checks what came. */
async function settlePhase(
  receiver: BenchReceiver,
  expected: readonly ExpectedDelivery[],
): Promise<{ arrivals: Arrival[]; check: DeliveryCheck; complete: boolean; maxInFlight: number }> {
  const complete = await receiver.waitFor(expected.length, STALL_MS);
  await sleep(GRACE_MS);
  const maxInFlight = receiver.maxInFlight;
  const arrivals = receiver.reset();
  return { arrivals, check: checkDeliveries(expected, arrivals), complete, maxInFlight };
}

interface ThroughputFigures {
  readonly events: number;
  readonly deliveries: number;
  readonly ms: number;
  readonly publishMs: number;
  readonly check: DeliveryCheck;
  readonly latencyMs: number[];
  readonly maxInFlight: number;
  readonly cpu: PhaseCpu;
  readonly trace: TraceSummary;
  readonly expected: ExpectedDelivery[];
}

/** All the phase's events handed to the runner's publisher at once; timed until the last arrival. */
async function measureThroughput(
  clinics: readonly BenchClinic[],
  stream: EventStream,
  publisher: CoalescingEventPublisher,
  receiver: BenchReceiver,
  count: number,
  meter: () => CpuMeter,
  trace: CallTrace,
): Promise<ThroughputFigures> {
  const events = stream.take(count);
  const expected = expectedDeliveries(clinics, events);
  await trace.cut();
  const metering = meter();
  const started = performance.now();
  await Promise.all(events.map((event) => publisher.publish([event])));
  const publishMs = performance.now() - started;
  const { arrivals, check, maxInFlight } = await settlePhase(receiver, expected);
  const cpu = phaseCpu(metering);
  const first = firstArrivals(arrivals);
  const wanted = expected.map((delivery) => first.get(`${delivery.webhookId}/${delivery.deliveryId}`));
  const last = Math.max(...wanted.map((arrival) => arrival?.at ?? 0));
  return {
    events: count,
    deliveries: expected.length,
    ms: last - started,
    publishMs,
    check,
    latencyMs: wanted.filter((arrival) => arrival !== undefined).map((arrival) => arrival.at - started),
    maxInFlight,
    cpu,
    trace: await trace.cut(),
    expected,
  };
}

/** Events published one at a time at `perSecond`, each delivery timed from its publish call. */
async function measureLatency(
  clinics: readonly BenchClinic[],
  stream: EventStream,
  publisher: CoalescingEventPublisher,
  receiver: BenchReceiver,
  count: number,
  perSecond: number,
): Promise<{
  latencyMs: number[];
  /** Each event's publish call, until EventBridge took it (the runner's linger included). */
  publishMs: number[];
  check: DeliveryCheck;
  deliveries: number;
  publishFailures: number;
}> {
  const publishedAt = new Map<string, number>();
  const publishMs: number[] = [];
  const expected: ExpectedDelivery[] = [];
  const publishing: Promise<void>[] = [];
  let publishFailures = 0;
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const wait = started + index * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const event: PlatformEvent = stream.next();
    expected.push(...expectedDeliveries(clinics, [event]));
    const at = performance.now();
    publishedAt.set(event.id, at);
    publishing.push(
      publisher.publish([event]).then(
        () => void publishMs.push(performance.now() - at),
        () => void publishFailures++,
      ),
    );
  }
  await Promise.all(publishing);
  const { arrivals, check } = await settlePhase(receiver, expected);
  const first = firstArrivals(arrivals);
  const latencyMs: number[] = [];
  for (const delivery of expected) {
    const arrival = first.get(`${delivery.webhookId}/${delivery.deliveryId}`);
    const at = publishedAt.get(delivery.event.id);
    if (arrival && at !== undefined) latencyMs.push(arrival.at - at);
  }
  return { latencyMs, publishMs, check, deliveries: expected.length, publishFailures };
}

interface BareFigures {
  readonly concurrency: number;
  readonly keepAlive: boolean;
  /** Each round's time; the median is the figure. */
  readonly roundsMs: number[];
  readonly ms: number;
  readonly check: DeliveryCheck;
  readonly failedRequests: number;
  readonly maxInFlight: number;
}

/** The throughput phase's deliveries through the bare loop, `rounds` times each way, interleaved. */
async function measureBare(
  bare: BareLoopProcess,
  receiver: BenchReceiver,
  clinics: readonly BenchClinic[],
  expected: readonly ExpectedDelivery[],
  ways: readonly { concurrency: number; keepAlive: boolean }[],
  rounds: number,
): Promise<BareFigures[]> {
  const secrets = new Map(
    clinics.flatMap((clinic) => clinic.webhooks.map((webhook) => [webhook.id, webhook.secret])),
  );
  const deliveries: BareDelivery[] = expected.map((delivery) => ({
    url: receiver.urlOf(delivery.webhookId),
    secret: secrets.get(delivery.webhookId) ?? '',
    id: delivery.deliveryId,
    body: JSON.stringify(delivery.event),
    group: delivery.group,
  }));
  const figures = ways.map((way) => ({
    ...way,
    roundsMs: [] as number[],
    checks: [] as DeliveryCheck[],
    failed: 0,
    maxInFlight: 0,
  }));
  // One unmeasured round first: the child's code paths and the receiver warm.
  await bare.run({ deliveries, concurrency: ways[0]?.concurrency ?? 1, keepAlive: false });
  receiver.reset();
  for (let round = 0; round < rounds; round++) {
    for (const figure of figures) {
      const done = await bare.run({
        deliveries,
        concurrency: figure.concurrency,
        keepAlive: figure.keepAlive,
      });
      const { check, maxInFlight } = await settlePhase(receiver, expected);
      figure.roundsMs.push(done.ms);
      figure.checks.push(check);
      figure.failed += done.failed;
      figure.maxInFlight = Math.max(figure.maxInFlight, maxInFlight);
    }
  }
  return figures.map((figure) => ({
    concurrency: figure.concurrency,
    keepAlive: figure.keepAlive,
    roundsMs: figure.roundsMs.map((ms) => round(ms, 1)),
    ms: distribution(figure.roundsMs).p50,
    // The worst round's check: any failure in any round shows.
    check: figure.checks.find((check) => !check.ok) ?? (figure.checks[0] as DeliveryCheck),
    failedRequests: figure.failed,
    maxInFlight: figure.maxInFlight,
  }));
}

interface Leftovers {
  /** Messages waiting to be received. */
  readonly visible: number;
  /** Received and not deleted (in flight), or delayed. */
  readonly inFlight: number;
  readonly delayed: number;
  /** On its dead-letter queue; null when it has none. */
  readonly deadLetters: number | null;
}

/** Messages left on a queue and on its dead-letter queue (every delivery done: all 0). */
async function queueLeftovers(sqs: SQSClient, queueUrl: string): Promise<Leftovers> {
  const count = async (url: string) => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
          'RedrivePolicy',
        ],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
      redrive: Attributes.RedrivePolicy,
    };
  };
  const { redrive, ...queue } = await count(queueUrl);
  let deadLetters: number | null = null;
  if (redrive) {
    const name = (JSON.parse(redrive) as { deadLetterTargetArn: string }).deadLetterTargetArn
      .split(':')
      .at(-1);
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    // An emulator's URL names its own host: ask by the same client whatever it says.
    if (QueueUrl) {
      const dlq = await count(QueueUrl);
      deadLetters = dlq.visible + dlq.inFlight + dlq.delayed;
    }
  }
  return { ...queue, deadLetters };
}

/** The code measured: the commit, and whether the dispatcher's or the bench's code had uncommitted changes. */
function codeUnderTest() {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    commit: git('rev-parse', 'HEAD'),
    changesUncommitted:
      git(
        'status',
        '--porcelain',
        'functions',
        'shared',
        'infra',
        'runner',
        'bench',
        ':(exclude)bench/results',
      ) !== '',
  };
}

export const eventsBenchmark: Benchmark = {
  name: 'events',
  async run(overrides): Promise<BenchmarkResult> {
    const options = eventsBenchOptions(overrides);
    const startedAt = new Date().toISOString();
    const stamp = startedAt.replace(/[:.]/g, '-');
    await mkdir(join(ROOT, '.local'), { recursive: true });
    const logFile = join(ROOT, '.local', `bench-events-${stamp}.log`);
    console.log(`  dispatcher log → ${logFile}`);
    const traceDirectory = await mkdtemp(join(tmpdir(), 'clinic-wa-events-trace-'));
    /** As the local event source runs the ordered queue: so many batches at once, each its groups side by side. */
    const dispatcherWidth = options.dispatcherPollers * WEBHOOK_DISPATCHER_SOURCES.delivery.ordered.batchSize;

    const emulators = await startBenchEmulators({ webhookDeliveryQueues: true });
    // Tenants, webhooks and the runner's publisher on moto, as the stack provisioned it.
    const moto = createPlatform({ source: 'runner', env: emulators.motoEnvironment });
    const publisher = new CoalescingEventPublisher(moto.events);
    // Stands in for the event recorder (not measured): its queues get every event too.
    const downstream = drainDownstreamQueues(moto.clients.sqs, [
      moto.resources.recorderQueueUrl,
      moto.resources.recorderPairingQueueUrl,
    ]);
    const receiver = await startBenchReceiver();
    let dispatcher: DispatcherProcess | undefined;
    let bare: BareLoopProcess | undefined;
    try {
      const clinics = await setUpClinics(moto, receiver);
      const stream = new EventStream(clinics);
      dispatcher = await spawnDispatcher({
        awsEnvironment: emulators.environment,
        eventSourceSqsEndpoint: emulators.aws.endpoint,
        pollers: options.dispatcherPollers,
        logFile,
        traceDirectory,
      });
      const trace = new CallTrace(traceDirectory, dispatcher.child);
      const dispatcherPid = dispatcher.pid;
      const meter = () =>
        new CpuMeter({
          dispatcher: dispatcherPid,
          moto: emulators.motoPid,
          fauxqs: emulators.fauxqs?.pid,
          bench: process.pid,
        });

      log(`warm-up: ${options.warmUpEvents} events through the dispatcher…`);
      const warmUpEvents = stream.take(options.warmUpEvents);
      await Promise.all(warmUpEvents.map((event) => publisher.publish([event])));
      const warmUp = (await settlePhase(receiver, expectedDeliveries(clinics, warmUpEvents))).check;

      log(`throughput: ${options.events} events published at once…`);
      const throughput = await measureThroughput(
        clinics,
        stream,
        publisher,
        receiver,
        options.events,
        meter,
        trace,
      );
      const eventsPerSecond = throughput.events / (throughput.ms / 1000);
      log(
        `  ${round(eventsPerSecond)} events/s, ${throughput.deliveries} deliveries, ${throughput.check.ok ? 'all exactly once' : 'FAILURES'}`,
      );

      const perSecond = Math.max(1, (eventsPerSecond * options.latencyLoadPercent) / 100);
      log(
        `latency: ${options.latencyEvents} events at ${round(perSecond)}/s (${options.latencyLoadPercent} % of the throughput)…`,
      );
      const latency = await measureLatency(
        clinics,
        stream,
        publisher,
        receiver,
        options.latencyEvents,
        perSecond,
      );
      log(
        `  p50 ${round(distribution(latency.latencyMs).p50)} ms, p99 ${round(distribution(latency.latencyMs).p99)} ms`,
      );

      const consumerStats = await dispatcher.stats();
      const motoSqs = moto.clients.sqs;
      const deliverySqs = emulators.fauxqs?.client ?? motoSqs;
      const leftovers = {
        webhookEvents: await queueLeftovers(motoSqs, moto.resources.webhookQueueUrl),
        ordered: await queueLeftovers(deliverySqs, emulators.environment.WEBHOOK_ORDERED_QUEUE_URL ?? ''),
        jobs: await queueLeftovers(deliverySqs, emulators.environment.WEBHOOK_DELIVERY_QUEUE_URL ?? ''),
      };
      // Nothing else runs during the bare loop: the dispatcher is stopped (its pollers would only wait).
      await dispatcher.stop();
      dispatcher = undefined;

      // What one of the dispatcher's calls costs on this emulator, on this machine, right now.
      const sample = throughput.expected[0];
      const motoReadMs: number[] = [];
      if (sample) {
        log(`moto alone: a delivery's GetItem, ${EMULATOR_PROBE_CALLS} one after another…`);
        for (let call = 0; call < EMULATOR_PROBE_CALLS; call++) {
          const readStarted = performance.now();
          await moto.deliveries.get(sample.event.tenantId, sample.webhookId, sample.deliveryId);
          motoReadMs.push(performance.now() - readStarted);
        }
      }

      log(
        `bare loop: the throughput phase's ${throughput.deliveries} deliveries, signed and POSTed, ${options.bareRounds} rounds each way…`,
      );
      bare = await spawnBareLoop();
      const bareMeter = new CpuMeter({ bare: bare.pid, bench: process.pid });
      const bareFigures = await measureBare(
        bare,
        receiver,
        clinics,
        throughput.expected,
        [
          { concurrency: 1, keepAlive: false },
          { concurrency: dispatcherWidth, keepAlive: false },
          { concurrency: dispatcherWidth, keepAlive: true },
        ],
        options.bareRounds,
      );
      const bareCpu = phaseCpu(bareMeter);
      return report(options, startedAt, emulators, {
        dispatcherWidth,
        warmUp,
        throughput,
        eventsPerSecond,
        latency: { ...latency, perSecond },
        bare: bareFigures,
        bareCpu,
        consumerStats,
        leftovers,
        motoReadMs,
      });
    } finally {
      await bare?.stop();
      await dispatcher?.stop();
      await receiver.close();
      await downstream.stop();
      moto.clients.sqs.destroy();
      await emulators.stop();
      await rm(traceDirectory, { recursive: true, force: true });
    }
  },
};

function report(
  options: Options,
  startedAt: string,
  emulators: BenchEmulators,
  figures: {
    dispatcherWidth: number;
    warmUp: DeliveryCheck;
    throughput: ThroughputFigures;
    eventsPerSecond: number;
    latency: Awaited<ReturnType<typeof measureLatency>> & { perSecond: number };
    bare: BareFigures[];
    bareCpu: PhaseCpu;
    consumerStats: Awaited<ReturnType<DispatcherProcess['stats']>>;
    leftovers: Record<string, Leftovers>;
    motoReadMs: number[];
  },
): BenchmarkResult {
  const { throughput, latency } = figures;
  const [sequential, concurrent, keepAlive] = figures.bare as [BareFigures, BareFigures, BareFigures];
  const perSecond = (ms: number, count: number) => count / (ms / 1000);
  // The reference: the faster of the two ways the dispatcher could match (one at a time, or as wide
  // as its worker); a kept-alive connection it could not (it connects anew at each try, by design).
  const reference = concurrent.ms <= sequential.ms ? concurrent : sequential;
  const referenceName =
    reference === concurrent
      ? `bare loop, ${figures.dispatcherWidth} in flight (one per webhook and channel), a connection per request`
      : 'bare loop, one at a time, a connection per request';
  const bareEventsPerSecond = perSecond(reference.ms, throughput.events);
  const motoRead = distribution(figures.motoReadMs);
  const dynamoCalls = Object.entries(throughput.trace.calls)
    .filter(([name]) => /^(Get|Put|Update|Query|Delete|TransactWrite|BatchGet|BatchWrite)Command/.test(name))
    .reduce((sum, [, traced]) => sum + traced.calls, 0);
  const latencyMs = distribution(latency.latencyMs);
  const burstLatencyMs = distribution(throughput.latencyMs);
  const checks = {
    warmUp: figures.warmUp,
    throughput: throughput.check,
    latency: latency.check,
    bareSequential: sequential.check,
    bareConcurrent: concurrent.check,
    bareKeepAlive: keepAlive.check,
  };
  const dispatcherChecks = [checks.warmUp, checks.throughput, checks.latency];
  const failuresOf = (check: DeliveryCheck) =>
    check.duplicates + check.missing + check.unexpected + check.unverified;
  const dispatcherFailures = dispatcherChecks.reduce((sum, check) => sum + failuresOf(check), 0);
  const dispatcherExpected = dispatcherChecks.reduce((sum, check) => sum + check.expected, 0);
  // A fan-out record returned to its queue is mostly an event held for its channel's turn (its
  // visibility set to a second: docs/architecture.md, "Order."), not a failure; what it costs shows
  // in the deliveries' checks. A delivery record returned is a failed try.
  const returnedBy = (consumer: (name: string) => boolean) =>
    Object.entries(figures.consumerStats.stats)
      .filter(([name]) => consumer(name))
      .reduce((sum, [, stats]) => sum + stats.failed, 0);
  const consumerFailures = returnedBy((name) => !name.startsWith('webhook-fan-out'));
  const fanOutReturned = returnedBy((name) => name.startsWith('webhook-fan-out'));
  // Dead letters are failures. Messages still on a queue once every delivery came are not counted as
  // such: with concurrent receives and deletes moto's SQS hands a message to two pollers and brings
  // deleted ones back in flight (bench/events/moto-sqs-race.py); a delivery they cost shows above.
  const deadLetters = Object.values(figures.leftovers).reduce(
    (sum, queue) => sum + (queue.deadLetters ?? 0),
    0,
  );
  const leftover = Object.values(figures.leftovers).reduce(
    (sum, queue) => sum + queue.visible + queue.inFlight + queue.delayed,
    0,
  );
  const failures = dispatcherFailures + consumerFailures + deadLetters;
  const correct = failures === 0;
  const goals: Goal[] = [
    goal(
      `events/s: dispatcher / bare loop (${reference === concurrent ? `${figures.dispatcherWidth} in flight` : 'one at a time'})`,
      figures.eventsPerSecond,
      bareEventsPerSecond,
      'events/s',
      { min: THROUGHPUT_GOAL },
      `≥ ${THROUGHPUT_GOAL}× bare`,
    ),
    goal(
      'delivery p99, publish → receiver',
      latencyMs.p99,
      LATENCY_P99_GOAL_MS,
      'ms',
      { max: 1 },
      `≤ ${LATENCY_P99_GOAL_MS} ms`,
    ),
    {
      name: 'every delivery exactly once, verified',
      goal: '0 failures',
      measured: failures,
      reference: dispatcherExpected,
      unit: 'of deliveries',
      ratio: round(failures / dispatcherExpected, 4),
      pass: correct,
    },
  ];
  const share = (phase: PhaseCpu, name: string) => phase.cpu[name]?.coreShare ?? Number.NaN;
  const metrics: Metric[] = [
    {
      name: `dispatcher: ${throughput.events} events (${throughput.deliveries} deliveries) published at once`,
      value: round(throughput.ms / 1000, 2),
      unit: 's to the last arrival',
    },
    { name: '  events per second', value: round(figures.eventsPerSecond, 1), unit: 'events/s' },
    {
      name: '  deliveries per second',
      value: round(perSecond(throughput.ms, throughput.deliveries), 1),
      unit: 'deliveries/s',
    },
    {
      name: '  publishing them (the runner’s publisher → moto’s bus)',
      value: round(throughput.publishMs / 1000, 2),
      unit: 's',
    },
    {
      name: '  requests in flight at the receiver (connections open), at most',
      value: throughput.maxInFlight,
      unit: 'requests',
    },
    {
      name: '  AWS calls per event (dispatcher process)',
      value: round(
        Object.values(callsPerRequest(throughput.trace, throughput.events)).reduce(
          (sum, calls) => sum + calls,
          0,
        ),
        2,
      ),
      unit: 'calls',
    },
    { name: '  dispatcher process CPU', value: share(throughput.cpu, 'dispatcher'), unit: 'cores' },
    { name: '  moto CPU', value: share(throughput.cpu, 'moto'), unit: 'cores' },
    { name: '  fauxqs CPU', value: share(throughput.cpu, 'fauxqs'), unit: 'cores' },
    {
      name: '  receiver and publisher (bench process) CPU',
      value: share(throughput.cpu, 'bench'),
      unit: 'cores',
    },
    { name: '  other processes on the machine', value: throughput.cpu.othersCores, unit: 'cores' },
    {
      name: `  publish → receiver in the burst, p50 (n = ${burstLatencyMs.samples})`,
      value: burstLatencyMs.p50,
      unit: 'ms',
    },
    {
      name: `dispatcher: delivery latency at ${round(latency.perSecond, 1)} events/s, p50 (n = ${latencyMs.samples})`,
      value: latencyMs.p50,
      unit: 'ms',
    },
    { name: '  p90', value: latencyMs.p90, unit: 'ms' },
    { name: '  p99', value: latencyMs.p99, unit: 'ms' },
    { name: '  max', value: latencyMs.max, unit: 'ms' },
    {
      name: '  of which the publish call (linger + PutEvents), p50',
      value: distribution(latency.publishMs).p50,
      unit: 'ms',
    },
    ...figures.bare.map((way) => ({
      name: `bare loop, ${way.concurrency === 1 ? 'one at a time' : `${way.concurrency} in flight`}${way.keepAlive ? ', keep-alive' : ''} (median of ${way.roundsMs.length})`,
      value: round(perSecond(way.ms, throughput.events), 1),
      unit: 'events/s',
    })),
    { name: '  bare loop process CPU', value: share(figures.bareCpu, 'bare'), unit: 'cores' },
    { name: '  other processes on the machine', value: figures.bareCpu.othersCores, unit: 'cores' },
    {
      name: `moto alone: a delivery's GetItem, one after another, p50 (n = ${motoRead.samples})`,
      value: motoRead.p50,
      unit: 'ms',
    },
    {
      name: '  the dispatcher’s DynamoDB calls per delivery (throughput phase)',
      value: round(dynamoCalls / throughput.deliveries, 2),
      unit: 'calls',
    },
    ...Object.entries(checks).map(([phase, check]) => ({
      name: `${phase}: duplicates + missing + unexpected + unverified`,
      value: failuresOf(check),
      unit: `of ${check.expected} deliveries${check.ok ? '' : ' — FAIL'}`,
    })),
    ...(['warmUp', 'throughput', 'latency'] as const).map((phase) => ({
      name: `${phase}: deliveries after a later event's of their webhook and channel`,
      value: checks[phase].outOfOrder,
      unit: `of ${checks[phase].expected} (order, not a failure)`,
    })),
    {
      name: 'delivery messages the dispatcher failed (left for redelivery)',
      value: consumerFailures,
      unit: 'messages',
    },
    {
      name: 'event messages the fan-out returned (held for their turn, or failed)',
      value: fanOutReturned,
      unit: 'messages',
    },
    { name: 'messages on its dead-letter queues', value: deadLetters, unit: 'messages' },
    {
      name: 'messages still on its queues at the end (moto: see moto-sqs-race.py)',
      value: leftover,
      unit: 'messages',
    },
  ];
  return {
    name: 'events',
    startedAt,
    parameters: { ...options, dispatcherWidth: figures.dispatcherWidth },
    metrics,
    goals,
    eventsPerSecond: round(figures.eventsPerSecond, 1),
    bareEventsPerSecond: round(bareEventsPerSecond, 1),
    throughputRatio: goals[0]?.ratio,
    deliveryP50Ms: latencyMs.p50,
    deliveryP99Ms: latencyMs.p99,
    correct,
    counts: {
      warmUpEvents: options.warmUpEvents,
      throughputEvents: throughput.events,
      throughputDeliveries: throughput.deliveries,
      latencyEvents: options.latencyEvents,
      latencyDeliveries: latency.deliveries,
      latencySamples: latencyMs.samples,
      bareRounds: options.bareRounds,
    },
    baseline: {
      reference: referenceName,
      ways: figures.bare.map((way) => ({
        concurrency: way.concurrency,
        keepAlive: way.keepAlive,
        eventsPerSecond: round(perSecond(way.ms, throughput.events), 1),
        deliveriesPerSecond: round(perSecond(way.ms, throughput.deliveries), 1),
        roundsMs: way.roundsMs,
        failedRequests: way.failedRequests,
        maxInFlight: way.maxInFlight,
      })),
    },
    checks,
    raw: {
      throughput: {
        ms: round(throughput.ms, 1),
        publishMs: round(throughput.publishMs, 1),
        deliveriesPerSecond: round(perSecond(throughput.ms, throughput.deliveries), 1),
        publishToArrivalMs: burstLatencyMs,
        maxInFlight: throughput.maxInFlight,
        callsPerEvent: callsPerRequest(throughput.trace, throughput.events),
        dispatcherCalls: throughput.trace,
        cpu: throughput.cpu,
      },
      latency: {
        eventsPerSecond: round(latency.perSecond, 2),
        publishToArrivalMs: latencyMs,
        publishCallMs: distribution(latency.publishMs),
        publishFailures: latency.publishFailures,
      },
      bareCpu: figures.bareCpu,
      motoAlone: { deliveryGetItemMs: motoRead },
      dynamoCallsPerDelivery: round(dynamoCalls / throughput.deliveries, 2),
      consumers: figures.consumerStats,
      queues: figures.leftovers,
    },
    emulators: {
      services: servedServices(emulators),
      queues: {
        webhookEvents: 'moto (filled by the EventBridge rule)',
        recorderEvents: 'moto (purged every 2 s: stands in for the recorder)',
        ordered: emulators.fauxqs ? 'fauxqs 1.9.2' : 'moto',
        jobs: emulators.fauxqs ? 'fauxqs 1.9.2' : 'moto',
      },
    },
    code: codeUnderTest(),
  };
}
