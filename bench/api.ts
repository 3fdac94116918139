// The HTTPS API against what it is made of, in one run on the same emulators and simulator:
// - accept: `POST /v1/channels/{id}/messages` through the local front (the API in a process of its
//   own, as `npm start` runs it) until its 202, against the bare AWS calls one accepted request
//   makes, issued directly by another process with the same clients and configuration
//   (bench/api/bare-accept-calls.ts), the two interleaved round by round;
// - end to end: from the POST until the patient's virtual phone has the text, through a runner
//   process, against bare Baileys' one-way latency (bench/baseline.ts's, measured here).
// A clinic is set up over HTTP as a clinic would (tenant and key by the operator, a channel paired
// by QR with a virtual phone). Each run checks from call traces that the API made the calls the
// bare side makes. docs/api-benchmark.md says what is measured and how.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_RATE_LIMIT } from '#shared/aws/dynamo/rate-limiter.ts';
import { shardFor } from '#shared/domain/channel.ts';
import { createPlatform } from '#shared/platform.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { ApiClient } from './api/api-client.ts';
import { type ApiProcess, AWS_TRACE_FLAGS, spawnApiProcess, traceEnvironment } from './api/api-process.ts';
import { ACCEPT_CALLS } from './api/bare-accept-calls.ts';
import { type BareAcceptProcess, spawnBareAcceptCalls } from './api/bare-accept-process.ts';
import { CallTrace, callsPerRequest, type TraceSummary } from './api/call-trace.ts';
import { type FuzzSummary, printFuzzSummary, readFuzzSummary } from './api/fuzz-summary.ts';
import { DEFAULT_BASELINE_OPTIONS, oneWayLatencySamples } from './baseline.ts';
import { type Benchmark, type BenchmarkResult, goal, type Metric } from './benchmark.ts';
import {
  type BenchEmulators,
  type ServedBy,
  servedBy,
  servedServices,
  startBenchEmulators,
} from './emulators.ts';
import { drainDownstreamQueues } from './runner/downstream.ts';
import { CpuMeter, type CpuShare } from './runner/proc.ts';
import { type BenchRunner, spawnBenchRunner } from './runner/runner-process.ts';
import { distribution, round } from './stats.ts';

export const DEFAULT_API_BENCH_OPTIONS = {
  /** Measured accept rounds: one request through the front and one bare round each. */
  acceptRequests: 500,
  /** Measured sends, each timed from its POST until the patient's phone has the text. */
  endToEndMessages: 200,
  /** Unmeasured requests (with their bare rounds, or sends) before each measured phase. */
  warmUpRequests: 50,
};

/** Bare Baileys' one-way samples are the baseline's (`--latencyMessages`). */
type Options = typeof DEFAULT_API_BENCH_OPTIONS & Pick<typeof DEFAULT_BASELINE_OPTIONS, 'latencyMessages'>;

const ROOT = join(import.meta.dirname, '..');
const FUZZ_RESULTS = 'bench/results/api-fuzz.json';
const CLINIC_NUMBER = '5511933330001';
const PATIENT_NUMBER = '5511944440001';
const TEXT = 'Sua consulta é amanhã às 9h. Responda SIM para confirmar.';
/** One tenant's requests are spaced to 80 % of its rate limit, so none is refused (429). */
const PACING_INTERVAL_MS = (DEFAULT_RATE_LIMIT.windowSeconds * 1000) / DEFAULT_RATE_LIMIT.requests / 0.8;
const ACCEPT_GOAL = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const began = performance.now();
const log = (line: string) =>
  console.log(`  [${String(Math.round((performance.now() - began) / 1000)).padStart(4)} s] ${line}`);

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** Starts each request of the tenant at least PACING_INTERVAL_MS after the one before. */
class RatePacer {
  private last = Number.NEGATIVE_INFINITY;

  async next(): Promise<void> {
    const wait = this.last + PACING_INTERVAL_MS - performance.now();
    if (wait > 0) await sleep(wait);
    this.last = performance.now();
  }
}

/** When each text reached the phone, from the phone's own report of what it keeps. */
class PhoneArrivals {
  private readonly arrivedAt = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();

  constructor(phone: VirtualPhone) {
    phone.onReceived((message) => {
      if (message.text === undefined) return;
      const at = performance.now();
      this.arrivedAt.set(message.text, at);
      this.waiting.get(message.text)?.(at);
    });
  }

  of(text: string, timeoutMs: number): Promise<number> {
    const at = this.arrivedAt.get(text);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`'${text}' did not reach the phone`)), timeoutMs);
      this.waiting.set(text, (arrived) => {
        clearTimeout(timer);
        this.waiting.delete(text);
        resolve(arrived);
      });
    });
  }
}

interface PhaseCpu {
  readonly cpu: Record<string, CpuShare>;
  /** Cores the machine was busy with processes other than the metered ones (other users' work). */
  readonly othersCores: number;
}

function phaseCpu(meter: CpuMeter): PhaseCpu {
  const cpu = meter.stop();
  const ours = Object.entries(cpu)
    .filter(([name]) => name !== 'machine')
    .reduce((sum, [, share]) => sum + share.coreShare, 0);
  return { cpu, othersCores: round((cpu.machine?.coreShare ?? 0) - ours, 2) };
}

interface Clinic {
  readonly client: ApiClient;
  readonly tenantId: string;
  readonly channelId: string;
  readonly patient: VirtualPhone;
}

/** A clinic as it starts: its tenant and key from the operator, a channel paired by QR. */
async function setUpClinic(api: ApiProcess, adminKey: string, simulator: Simulator): Promise<Clinic> {
  const admin = new ApiClient(api.url, adminKey);
  const tenant = await admin.expect(201, 'POST', '/v1/tenants', { name: 'Clínica Bench API' });
  const tenantId = String(tenant.id);
  const key = await admin.expect(201, 'POST', `/v1/tenants/${tenantId}/api-keys`, {
    name: 'bench',
    scopes: ['channels:read', 'channels:write', 'messages:send'],
  });
  const client = new ApiClient(api.url, String(key.key));
  const channelId = String((await client.expect(201, 'POST', '/v1/channels', { name: 'Recepção' })).id);
  const clinicPhone = await simulator.phones.create(CLINIC_NUMBER);
  const patient = await simulator.phones.create(PATIENT_NUMBER);
  await client.expect(202, 'POST', `/v1/channels/${channelId}/connect`, { method: 'qr' });
  const channel = () => client.expect(200, 'GET', `/v1/channels/${channelId}`);
  const qr = await until(
    async () => (await channel()).qr as string | undefined,
    'a QR on the channel',
    120_000,
  );
  await clinicPhone.scanQr(qr);
  await until(
    async () => ((await channel()).status === 'open' ? true : undefined),
    'the channel open',
    120_000,
  );
  return { client, tenantId, channelId, patient };
}

function sendRequest(clinic: Clinic, text: string) {
  return clinic.client.expect(
    202,
    'POST',
    `/v1/channels/${clinic.channelId}/messages`,
    { to: `+${PATIENT_NUMBER}`, type: 'text', text: { body: text } },
    // Every POST that creates something carries one (API.md); each request a key of its own.
    { 'idempotency-key': `bench-${randomUUID()}` },
  );
}

/** Sends one after another, each once the one before reached the phone: accept and end-to-end times. */
async function measureEndToEnd(
  clinic: Clinic,
  pacer: RatePacer,
  options: Options,
  runnerTrace: CallTrace,
  meter: () => CpuMeter,
): Promise<{ acceptMs: number[]; endToEndMs: number[]; cpu: PhaseCpu; runnerTrace: TraceSummary }> {
  const arrivals = new PhoneArrivals(clinic.patient);
  const acceptMs: number[] = [];
  const endToEndMs: number[] = [];
  let metering: CpuMeter | undefined;
  for (let index = 0; index < options.warmUpRequests + options.endToEndMessages; index++) {
    if (index === options.warmUpRequests) {
      await runnerTrace.cut();
      metering = meter();
    }
    const text = `${TEXT} #${index}`;
    await pacer.next();
    const arrival = arrivals.of(text, 60_000);
    const started = performance.now();
    await sendRequest(clinic, text);
    const accepted = performance.now();
    const arrived = await arrival;
    // The first sends set up the Signal session with the phone (pkmsg) and warm every process up.
    if (index < options.warmUpRequests) continue;
    acceptMs.push(accepted - started);
    endToEndMs.push(arrived - started);
  }
  const cpu = phaseCpu(metering as CpuMeter);
  // The runner's calls in the phase, once what it does after the last arrival (its status writes) is in.
  await sleep(2_000);
  return { acceptMs, endToEndMs, cpu, runnerTrace: await runnerTrace.cut() };
}

interface AcceptFigures {
  readonly apiMs: number[];
  readonly bareMs: number[];
  /** Each call's times on the bare side, in the order of ACCEPT_CALLS. */
  readonly bareCallsMs: number[][];
  readonly apiTrace: TraceSummary;
  readonly bareTrace: TraceSummary;
  readonly cpu: PhaseCpu;
}

/**
 * Rounds of one request through the front and one bare round, which goes first alternating, so
 * neither side always follows the other's writes; no runner is left, so nothing else loads the
 * emulators. The API's time is the client's (fetch, loopback HTTP, the front, the function); the
 * bare side's is timed in its process around its calls.
 */
async function measureAccept(
  clinic: Clinic,
  bare: BareAcceptProcess,
  traces: { api: CallTrace; bare: CallTrace },
  pacer: RatePacer,
  options: Options,
  meter: () => CpuMeter,
): Promise<AcceptFigures> {
  const apiMs: number[] = [];
  const bareMs: number[] = [];
  const bareCallsMs: number[][] = ACCEPT_CALLS.map(() => []);
  let metering: CpuMeter | undefined;
  const throughApi = async () => {
    const started = performance.now();
    await sendRequest(clinic, TEXT);
    return performance.now() - started;
  };
  for (let index = 0; index < options.warmUpRequests + options.acceptRequests; index++) {
    if (index === options.warmUpRequests) {
      // What the warm-up called is cut off the traces; from here they count the measured rounds.
      await Promise.all([traces.api.cut(), traces.bare.cut()]);
      metering = meter();
    }
    await pacer.next();
    let api: number;
    let round: { ms: number; callsMs: readonly number[] };
    if (index % 2 === 0) {
      round = await bare.round();
      api = await throughApi();
    } else {
      api = await throughApi();
      round = await bare.round();
    }
    if (index < options.warmUpRequests) continue;
    apiMs.push(api);
    bareMs.push(round.ms);
    round.callsMs.forEach((ms, call) => {
      bareCallsMs[call]?.push(ms);
    });
  }
  const cpu = phaseCpu(metering as CpuMeter);
  const [apiTrace, bareTrace] = await Promise.all([traces.api.cut(), traces.bare.cut()]);
  return { apiMs, bareMs, bareCallsMs, apiTrace, bareTrace, cpu };
}

/**
 * The API's calls per request against the bare side's per round, from the traces. Counts are
 * compared rounded: the front keeps the authorizer's answer 60 s, as API Gateway does, so a request
 * now and then also reads the key and the tenant (a fraction of a call per request).
 */
function compareCalls(figures: AcceptFigures, requests: number) {
  const api = callsPerRequest(figures.apiTrace, requests);
  const bare = callsPerRequest(figures.bareTrace, requests);
  const names = [...new Set([...Object.keys(api), ...Object.keys(bare)])].sort();
  const differences = names.filter((name) => Math.round(api[name] ?? 0) !== Math.round(bare[name] ?? 0));
  return { api, bare, same: differences.length === 0, differences };
}

/** The code measured: the commit, and whether the API's or the runner's code had uncommitted changes. */
function codeUnderTest() {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    commit: git('rev-parse', 'HEAD'),
    changesUncommitted: git('status', '--porcelain', 'functions', 'shared', 'infra/local', 'runner') !== '',
  };
}

function pick(overrides: Record<string, number>): Partial<Options> {
  const names = [...Object.keys(DEFAULT_API_BENCH_OPTIONS), 'latencyMessages'];
  return Object.fromEntries(Object.entries(overrides).filter(([name]) => names.includes(name)));
}

export const apiBenchmark: Benchmark = {
  name: 'api',
  async run(overrides): Promise<BenchmarkResult> {
    const options: Options = {
      ...DEFAULT_API_BENCH_OPTIONS,
      latencyMessages: DEFAULT_BASELINE_OPTIONS.latencyMessages,
      ...pick(overrides),
    };
    const startedAt = new Date().toISOString();
    const stamp = startedAt.replace(/[:.]/g, '-');
    await mkdir(join(ROOT, '.local'), { recursive: true });
    const logFile = join(ROOT, '.local', `bench-api-${stamp}.log`);
    console.log(`  API and runner logs → ${logFile}`);
    const traceDirectory = await mkdtemp(join(tmpdir(), 'clinic-wa-api-trace-'));

    const emulators = await startBenchEmulators();
    const simulator = await startSimulator();
    // The platform as the stack provisioned it, read through the composition root: its queues on moto.
    const moto = createPlatform({ source: 'api', env: emulators.motoEnvironment });
    const downstream = drainDownstreamQueues(moto.clients.sqs, [
      moto.resources.recorderQueueUrl,
      moto.resources.webhookQueueUrl,
    ]);
    const adminKey = `adm_${randomBytes(32).toString('base64url')}`;
    let api: ApiProcess | undefined;
    let runner: BenchRunner | undefined;
    let bare: BareAcceptProcess | undefined;
    try {
      api = await spawnApiProcess({
        awsEnvironment: emulators.environment,
        adminKey,
        logFile,
        traceDirectory,
      });
      runner = await spawnBenchRunner({
        runnerId: 'api-bench-runner',
        cluster: `bench-api-${randomUUID()}`,
        awsEnvironment: { ...emulators.environment, ...traceEnvironment(traceDirectory) },
        leaseTtlSeconds: 30,
        maxConcurrentConnects: 20,
        simulator,
        logFile,
        nodeFlags: AWS_TRACE_FLAGS,
      });
      log('a clinic over HTTP: tenant and key from the operator, a channel paired by QR…');
      const clinic = await setUpClinic(api, adminKey, simulator);
      const pacer = new RatePacer();
      const processes = (extra: Record<string, number | undefined>) => ({
        api: api?.pid,
        ...extra,
        moto: emulators.motoPid,
        fauxqs: emulators.fauxqs?.pid,
        bench: process.pid,
      });

      log(`end to end: ${options.endToEndMessages} texts, POST → the patient's phone, one at a time…`);
      const runnerPid = runner.pid;
      const runnerTrace = new CallTrace(traceDirectory, runner.child);
      const endToEnd = await measureEndToEnd(
        clinic,
        pacer,
        options,
        runnerTrace,
        () => new CpuMeter(processes({ runner: runnerPid })),
      );
      log(`  p50 ${round(distribution(endToEnd.endToEndMs).p50)} ms`);
      // Killed, not stopped: its SIGTERM hand-over waits out the shard's long poll (20 s), and nothing
      // needs its leases afterwards. From here no runner takes the commands the API queues.
      await runner.kill();

      log(`bare Baileys: one-way latency, ${options.latencyMessages} texts between two clients…`);
      const bareOneWayMs = await oneWayLatencySamples(simulator, options.latencyMessages);
      log(`  p50 ${round(distribution(bareOneWayMs).p50, 2)} ms`);

      log(`accept: ${options.acceptRequests} requests through the front, each beside the bare calls…`);
      bare = await spawnBareAcceptCalls({ awsEnvironment: emulators.environment, traceDirectory });
      await bare.prepare({
        tenantId: clinic.tenantId,
        channelId: clinic.channelId,
        shard: shardFor(clinic.channelId, moto.shardCount),
        to: `+${PATIENT_NUMBER}`,
        text: TEXT,
      });
      const barePid = bare.pid;
      const accept = await measureAccept(
        clinic,
        bare,
        { api: new CallTrace(traceDirectory, api.child), bare: new CallTrace(traceDirectory, bare.child) },
        pacer,
        options,
        () => new CpuMeter(processes({ bare: barePid })),
      );
      log(
        `  p50 ${round(distribution(accept.apiMs).p50, 2)} ms through the front, ${round(distribution(accept.bareMs).p50, 2)} ms bare`,
      );
      const fuzz = await readFuzzSummary(ROOT, FUZZ_RESULTS);
      printFuzzSummary(fuzz, FUZZ_RESULTS);
      return report(options, startedAt, emulators, {
        accept,
        endToEnd,
        bareOneWayMs,
        fuzz,
      });
    } finally {
      await bare?.stop();
      await runner?.kill();
      await api?.stop();
      await downstream.stop();
      moto.clients.sqs.destroy();
      await simulator.stop();
      await emulators.stop();
      await rm(traceDirectory, { recursive: true, force: true });
    }
  },
};

function quarters(samples: readonly number[]): { firstQuarterP50: number; lastQuarterP50: number } {
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  return {
    firstQuarterP50: distribution(samples.slice(0, quarter)).p50,
    lastQuarterP50: distribution(samples.slice(-quarter)).p50,
  };
}

/** Which emulator served each call of an accepted request. */
function callEmulators(emulators: BenchEmulators): Array<{ call: string } & ServedBy> {
  const commandQueues: ServedBy =
    emulators.fauxqs && !process.env.AWS_ENDPOINT_URL_SQS
      ? { emulator: 'fauxqs 1.9.2', endpoint: emulators.fauxqs.endpoint }
      : servedBy(emulators, 'sqs');
  return ACCEPT_CALLS.map((call) => ({
    call,
    ...(call.includes('SendMessage') ? commandQueues : servedBy(emulators, 'dynamodb')),
  }));
}

function report(
  options: Options,
  startedAt: string,
  emulators: BenchEmulators,
  figures: {
    accept: AcceptFigures;
    endToEnd: Awaited<ReturnType<typeof measureEndToEnd>>;
    bareOneWayMs: number[];
    fuzz: FuzzSummary | undefined;
  },
): BenchmarkResult {
  const { accept, endToEnd } = figures;
  const api = distribution(accept.apiMs);
  const bare = distribution(accept.bareMs);
  const endToEndMs = distribution(endToEnd.endToEndMs);
  const acceptWhileSending = distribution(endToEnd.acceptMs);
  const bareOneWay = distribution(figures.bareOneWayMs);
  const bareCalls = ACCEPT_CALLS.map((call, index) => ({
    call,
    ...distribution(accept.bareCallsMs[index] ?? []),
  }));
  const calls = compareCalls(accept, options.acceptRequests);
  const goals = [
    goal(
      'accept p50: POST through the front / bare calls',
      api.p50,
      bare.p50,
      'ms',
      { max: ACCEPT_GOAL },
      `≤ ${ACCEPT_GOAL}× bare`,
    ),
    goal(
      'accept p99: POST through the front / bare calls',
      api.p99,
      bare.p99,
      'ms',
      { max: ACCEPT_GOAL },
      `≤ ${ACCEPT_GOAL}× bare`,
    ),
  ];
  const share = (phase: PhaseCpu, name: string) => phase.cpu[name]?.coreShare ?? Number.NaN;
  const metrics: Metric[] = [
    { name: `accept through the front, p50 (n = ${api.samples})`, value: api.p50, unit: 'ms' },
    { name: 'accept through the front, p99', value: api.p99, unit: 'ms' },
    { name: `bare calls of one request, p50 (n = ${bare.samples})`, value: bare.p50, unit: 'ms' },
    { name: 'bare calls of one request, p99', value: bare.p99, unit: 'ms' },
    ...bareCalls.map((call) => ({ name: `  ${call.call}, p50`, value: call.p50, unit: 'ms' })),
    {
      name: '  the same calls inside the API process (trace), sum of p50s',
      value: round(
        Object.values(accept.apiTrace.calls)
          .filter((traced) => traced.calls >= options.acceptRequests / 2)
          .reduce((sum, traced) => sum + traced.p50Ms, 0),
        1,
      ),
      unit: 'ms',
    },
    { name: '  calls per request: the same on both sides', value: calls.same ? 1 : 0, unit: '(1 = yes)' },
    { name: '  API process CPU', value: share(accept.cpu, 'api'), unit: 'cores' },
    { name: '  bare process CPU', value: share(accept.cpu, 'bare'), unit: 'cores' },
    { name: '  moto CPU', value: share(accept.cpu, 'moto'), unit: 'cores' },
    { name: '  fauxqs CPU', value: share(accept.cpu, 'fauxqs'), unit: 'cores' },
    { name: '  other processes on the machine', value: accept.cpu.othersCores, unit: 'cores' },
    { name: `end to end, POST → phone, p50 (n = ${endToEndMs.samples})`, value: endToEndMs.p50, unit: 'ms' },
    { name: 'end to end, POST → phone, p99', value: endToEndMs.p99, unit: 'ms' },
    { name: '  accept while the runner sends, p50', value: acceptWhileSending.p50, unit: 'ms' },
    { name: '  accept while the runner sends, p99', value: acceptWhileSending.p99, unit: 'ms' },
    {
      name: "  the runner's AWS calls in the phase, per message",
      value: round(
        Object.values(callsPerRequest(endToEnd.runnerTrace, options.endToEndMessages)).reduce(
          (sum, calls) => sum + calls,
          0,
        ),
        1,
      ),
      unit: 'calls',
    },
    { name: '  runner CPU', value: share(endToEnd.cpu, 'runner'), unit: 'cores' },
    { name: '  API process CPU', value: share(endToEnd.cpu, 'api'), unit: 'cores' },
    { name: '  moto CPU', value: share(endToEnd.cpu, 'moto'), unit: 'cores' },
    { name: '  simulator, phone and bench process CPU', value: share(endToEnd.cpu, 'bench'), unit: 'cores' },
    { name: '  other processes on the machine', value: endToEnd.cpu.othersCores, unit: 'cores' },
    { name: `bare Baileys one-way, p50 (n = ${bareOneWay.samples})`, value: bareOneWay.p50, unit: 'ms' },
    { name: 'bare Baileys one-way, p99', value: bareOneWay.p99, unit: 'ms' },
    {
      name: 'end to end p50 / bare one-way p50',
      value: round(endToEndMs.p50 / bareOneWay.p50, 1),
      unit: '×',
    },
  ];
  return {
    name: 'api',
    startedAt,
    parameters: { ...options },
    metrics,
    goals,
    acceptP50Ratio: goals[0]?.ratio,
    acceptP99Ratio: goals[1]?.ratio,
    endToEndP50Ms: endToEndMs.p50,
    endToEndP99Ms: endToEndMs.p99,
    bareOneWayP50Ms: bareOneWay.p50,
    bareOneWayP99Ms: bareOneWay.p99,
    samples: {
      accept: api.samples,
      bareAccept: bare.samples,
      endToEnd: endToEndMs.samples,
      bareOneWay: bareOneWay.samples,
      warmUpRequests: options.warmUpRequests,
    },
    raw: {
      accept: {
        throughFrontMs: api,
        bareMs: bare,
        // Were both sides warm? The p50 of the first and of the last quarter of the rounds.
        drift: { throughFrontMs: quarters(accept.apiMs), bareMs: quarters(accept.bareMs) },
        bareCallsMs: bareCalls,
        callsPerRequest: calls,
        apiProcessCalls: accept.apiTrace,
        bareProcessCalls: accept.bareTrace,
        cpu: accept.cpu,
        pacing: {
          rateLimit: DEFAULT_RATE_LIMIT,
          minimumIntervalMs: round(PACING_INTERVAL_MS, 1),
        },
      },
      endToEnd: {
        postToPhoneMs: endToEndMs,
        acceptWhileSendingMs: acceptWhileSending,
        runnerCallsPerMessage: callsPerRequest(endToEnd.runnerTrace, options.endToEndMessages),
        runnerProcessCalls: endToEnd.runnerTrace,
        cpu: endToEnd.cpu,
      },
      bareOneWayMs: bareOneWay,
    },
    emulators: { services: servedServices(emulators), calls: callEmulators(emulators) },
    fuzz: figures.fuzz ?? null,
    code: codeUnderTest(),
  };
}
