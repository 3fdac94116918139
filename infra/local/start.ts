// `npm start`: the platform on this machine. Each part starts in order with one line of progress,
// and stops in reverse order on Ctrl-C or SIGTERM: local AWS (moto, provisioned from the CDK
// template), the WhatsApp simulator, the runners, the HTTPS API behind its local front, the queue
// consumers (the event recorder, the webhook dispatcher), the dashboard, then a demo tenant and a
// virtual phone. What they store survives a restart (local-state.ts); `--fresh` starts empty.
// The summary at the end says where everything answers and what to try; the long lists (resources,
// environment) go to the details file, and to the terminal with --verbose.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Simulator, startSimulator } from '#test/simulator';
import { RUNTIME_ENVIRONMENT_KEYS } from '../runtime-environment.ts';
import { EMULATOR_CREDENTIAL_ENV } from './aws-clients.ts';
import { startDashboardServer } from './dashboard-server.ts';
import { type DemoTenant, ensureDemoTenant } from './demo-tenant.ts';
import { type LocalAws, localAwsOptionsFromEnvironment, startLocalAws } from './local-aws.ts';
import { LocalProcessError, startLocalProcess } from './local-process.ts';
import {
  clearSavedState,
  displayPath,
  type LocalStateFiles,
  localStateFiles,
  readSavedAwsState,
  writePrivateFile,
} from './local-state.ts';
import { portIsFree } from './moto-server.ts';
import type { PlatformFile } from './platform-file.ts';
import {
  DEFAULT_AWS_PORT,
  parseStartOptions,
  START_HELP,
  type StartOptions,
  StartOptionsError,
  simulatorAdminUrl,
  type WhatsAppTarget,
} from './start-options.ts';
import {
  environmentExports,
  failureLine,
  formatDuration,
  pendingLine,
  progressLine,
  renderSummary,
  resourcesText,
  type StartState,
} from './start-summary.ts';
import { ensureVirtualPhone, type VirtualPhone } from './virtual-phone.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const began = performance.now();

interface RunningPart {
  /** What its progress line says after the name: `moto, 41 resources`. */
  readonly detail?: string;
  /** It had nothing to do here (its line says why). */
  readonly skipped?: boolean;
  /** The dashboard part's page: the summary shows it when a part reports one. */
  readonly dashboardUrl?: string;
  /** Stops what it started (in reverse order of starting); absent when nothing keeps running. */
  stop?(): Promise<void>;
}

/** What later parts build on, filled in as parts start. */
interface Platform {
  aws?: LocalAws;
  /** What local AWS made of the saved state. */
  state?: StartState;
  /** The runners' WhatsApp settings, and what platform.json says of it. */
  whatsapp?: {
    readonly env: Record<string, string>;
    readonly info: PlatformFile['whatsapp'];
    /** The simulator's admin API, when there is one to make a virtual phone with. */
    readonly adminUrl: string | null;
  };
  runners: { runnerId: string; healthUrl: string }[];
  api?: { url: string; adminKey: string };
  demoTenant?: { tenant: DemoTenant; reused: boolean };
  virtualPhone?: { phone: VirtualPhone; reused: boolean };
}

interface Part {
  readonly name: string;
  start(platform: Platform): Promise<RunningPart>;
}

/** The details file and, with --verbose, the terminal: what the progress lines leave out. */
class StartDetails {
  constructor(
    readonly file: string,
    private readonly verbose: boolean,
  ) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, `npm start, ${new Date().toISOString()} (pid ${process.pid})\n`);
  }

  add(title: string, text: string): void {
    appendFileSync(this.file, `\n${title}\n${text}\n`);
    if (this.verbose) console.log(`\n${title}\n${text}\n`);
  }

  /** One line, to the file only. */
  note(line: string): void {
    appendFileSync(this.file, `${line}\n`);
  }
}

/**
 * The simulator runs in this process, and its virtual phones' libsignal prints whole Signal session
 * records (private keys included) with console.info and console.warn whenever a session is opened,
 * closed or replaced: pages of buffers after the summary. Such library chatter goes to the details
 * file instead, its text as it is and its objects by kind only (the file is not private). start.ts
 * itself writes with console.log and console.error, which stay as they are.
 */
function keepLibraryChatterInDetails(details: StartDetails): void {
  const toDetails = (...args: unknown[]) =>
    details.note(
      args
        .map((arg) =>
          typeof arg === 'string'
            ? arg
            : `[${arg === null ? 'null' : (arg?.constructor?.name ?? typeof arg)}]`,
        )
        .join(' '),
    );
  console.info = toDetails;
  console.warn = toDetails;
  console.debug = toDetails;
}

function defaultPort(name: string, fallback: number): number {
  const raw = process.env[name];
  const port = raw === undefined ? fallback : Number(raw);
  if (!(Number.isInteger(port) && port >= 0 && port < 65_536)) {
    throw new StartOptionsError(`${name} must be a port number, got '${raw}'`);
  }
  return port;
}

/**
 * moto on a fixed port (`LOCAL_AWS_PORT`, default 4566) with its state in the state directory:
 * restored before provisioning (which keeps what exists), saved every 30 s and on stop. The fixed
 * port matters: moto builds queue URLs from the request's host, so the same port gives the restored
 * queues the same URLs, and `.local/local-aws.env` stays right across restarts.
 */
function localAwsPart(files: LocalStateFiles, fresh: boolean, details: StartDetails): Part {
  return {
    name: 'local AWS',
    async start(platform) {
      const fromEnvironment = localAwsOptionsFromEnvironment(process.env, { port: DEFAULT_AWS_PORT });
      // An external emulator keeps (or not) its own state.
      const options = fromEnvironment.externalEndpoint
        ? fromEnvironment
        : { ...fromEnvironment, stateFile: files.awsState };
      if (options.port !== undefined && !(await portIsFree(options.port))) {
        // moto would only log it and exit; say it in the progress line, with what to change.
        throw new Error(
          `port ${options.port} is in use (another npm start? LocalStack?): LOCAL_AWS_PORT=<port> picks another`,
        );
      }
      const saved = options.stateFile ? readSavedAwsState(options.stateFile) : undefined;
      const aws = await startLocalAws(options);
      platform.aws = aws;
      const state: StartState = !options.stateFile
        ? { kind: 'external' }
        : saved
          ? { kind: 'restored', savedAt: saved.savedAt }
          : { kind: fresh ? 'fresh' : 'new' };
      platform.state = state;
      const { emulatorMs, synthMs, provisionMs } = aws.timings;
      details.add(
        `Local AWS: ${options.externalEndpoint ? 'external emulator' : 'moto'} at ${aws.endpoint} (${aws.region}, account ${aws.stack.accountId})`,
        [
          `  ready in ${emulatorMs} ms, stack synthesized in ${synthMs} ms, provisioned in ${provisionMs} ms`,
          ...(options.stateFile
            ? [
                saved
                  ? `  state restored from ${displayPath(options.stateFile)} (saved ${saved.savedAt}, moto ${saved.moto}); saved again every 30 s and on stop`
                  : `  state kept in ${displayPath(options.stateFile)}: saved every 30 s and on stop (--fresh starts empty)`,
              ]
            : ['  its state is its own: npm start neither saves nor restores it']),
        ].join('\n'),
      );
      details.add(
        'Resources of the stateful stack:',
        resourcesText(aws.stack.resources, aws.stack.skipped.length),
      );
      const exports = environmentExports({
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_REGION: aws.region,
        ...EMULATOR_CREDENTIAL_ENV,
        ...Object.fromEntries(RUNTIME_ENVIRONMENT_KEYS.map((key) => [key, aws.env[key]])),
      });
      mkdirSync(files.dir, { recursive: true });
      writeFileSync(files.awsEnv, `${exports}\n`);
      details.add(`Environment (also in ${displayPath(files.awsEnv)}: \`source\` it):`, exports);
      const stateWord = { restored: ', restored', new: ', new state', fresh: ', fresh', external: '' };
      return {
        detail: `${options.externalEndpoint ? 'external emulator' : 'moto'}, ${aws.stack.resources.length} resources${stateWord[state.kind]}`,
        stop: () => aws.stop(),
      };
    },
  };
}

/** Our simulator, its state kept in the state directory so paired channels survive a restart. */
function simulatorPart(files: LocalStateFiles, details: StartDetails): Part {
  return {
    name: 'WhatsApp simulator',
    async start(platform) {
      const restored = existsSync(files.simulatorSnapshot);
      const simulator: Simulator = await startSimulator({
        port: defaultPort('LOCAL_SIM_PORT', 7000),
        snapshotFile: files.simulatorSnapshot,
      });
      platform.whatsapp = {
        env: {
          WA_MODE: 'simulator',
          WA_WEBSOCKET_URL: simulator.wsUrl,
          WA_TRUST_ROOT: simulator.rootPublicKey.toString('base64'),
          WA_MEDIA_CA_PEM: simulator.mediaCaPem,
        },
        info: { mode: 'simulator', webSocketUrl: simulator.wsUrl, startedHere: true },
        adminUrl: simulator.adminUrl,
      };
      details.add(
        `WhatsApp simulator: ${simulator.wsUrl}`,
        `  admin API ${simulator.adminUrl} (GET /trust, POST /phones, …: test/simulator/README.md)\n  state ${restored ? 'restored from' : 'kept in'} ${displayPath(files.simulatorSnapshot)}`,
      );
      return {
        detail: `port ${new URL(simulator.adminUrl).port}${restored ? ', restored' : ''}`,
        stop: () => simulator.stop(),
      };
    },
  };
}

const trustSchema = z.object({ rootPublicKey: z.string(), mediaCaPem: z.string() });

/**
 * `--whatsapp <ws-url>`: a simulator running elsewhere. Its admin API, when it answers beside the
 * WebSocket, must pin the same root key (else every login would fail) and gives the media CA and
 * the virtual phone; when it does not answer, the runners still connect, without a phone.
 */
function externalSimulatorPart(
  target: Extract<WhatsAppTarget, { kind: 'external' }>,
  details: StartDetails,
): Part {
  return {
    name: 'WhatsApp simulator',
    async start(platform) {
      let mediaCaPem: string | undefined;
      if (target.mediaCaFile) {
        mediaCaPem = readFileSync(target.mediaCaFile, 'utf8');
        if (!mediaCaPem.includes('BEGIN CERTIFICATE')) {
          throw new Error(`--media-ca ${target.mediaCaFile} holds no PEM certificate`);
        }
      }
      const guessedAdminUrl = simulatorAdminUrl(target.webSocketUrl);
      const trust = await fetch(`${guessedAdminUrl}/trust`, { signal: AbortSignal.timeout(3_000) })
        .then(async (response) => (response.ok ? trustSchema.parse(await response.json()) : undefined))
        .catch(() => undefined);
      if (trust && trust.rootPublicKey !== target.trustRoot) {
        throw new Error(
          `the simulator at ${guessedAdminUrl} pins root key ${trust.rootPublicKey}, not the --trust given: every login would fail`,
        );
      }
      mediaCaPem ??= trust?.mediaCaPem;
      const adminUrl = trust ? guessedAdminUrl : null;
      platform.whatsapp = {
        env: {
          WA_MODE: 'simulator',
          WA_WEBSOCKET_URL: target.webSocketUrl,
          WA_TRUST_ROOT: target.trustRoot,
          ...(mediaCaPem ? { WA_MEDIA_CA_PEM: mediaCaPem } : {}),
        },
        info: { mode: 'simulator', webSocketUrl: target.webSocketUrl, startedHere: false },
        adminUrl,
      };
      details.add(
        `WhatsApp simulator (not started here): ${target.webSocketUrl}`,
        [
          adminUrl
            ? `  admin API ${adminUrl}`
            : `  no admin API answered at ${guessedAdminUrl}: no virtual phone`,
          mediaCaPem
            ? `  media CA from ${target.mediaCaFile ?? 'its GET /trust'}`
            : '  no media CA: sending media through it fails',
        ].join('\n'),
      );
      return {
        detail: `not started here${adminUrl ? '' : ', no admin API'}`,
      };
    },
  };
}

/** `--whatsapp live`: nothing to start; the runners reach WhatsApp and draw each QR here. */
function liveWhatsAppPart(): Part {
  return {
    name: 'WhatsApp',
    async start(platform) {
      platform.whatsapp = {
        env: { WA_MODE: 'live', PRINT_QR_TO_TERMINAL: 'true' },
        info: { mode: 'live' },
        adminUrl: null,
      };
      return { detail: 'live, QR codes drawn here' };
    },
  };
}

/** What every process of the platform reads to reach local AWS: endpoint, credentials, the stack. */
function localAwsEnvironment(aws: LocalAws): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    ...EMULATOR_CREDENTIAL_ENV,
    ...aws.env,
    // Webhooks may point at a receiver on this machine (http, loopback): local development only.
    WEBHOOK_ALLOW_LOOPBACK: process.env.WEBHOOK_ALLOW_LOOPBACK ?? 'true',
  };
}

const runnerHealthSchema = z.object({ healthy: z.boolean(), runnerId: z.string() });

/**
 * `count` runners, each its own process configured through its environment like an ECS task, started
 * and stopped together (as a service scaling from and to zero would). They share the shards through
 * their leases in the sessions table, as tasks of one service do; each one's /healthz lists its own.
 */
function runnersPart(count: number, healthPortBase: number, details: StartDetails): Part {
  return {
    name: count === 1 ? 'runner' : `${count} runners`,
    async start(platform) {
      const { aws, whatsapp } = platform;
      if (!aws || !whatsapp) throw new Error('the runners need local AWS and a WhatsApp to reach');
      const runners = Array.from({ length: count }, (_, i) => {
        const runnerId = `local-runner-${i + 1}`;
        const healthPort = healthPortBase + i;
        const healthUrl = `http://127.0.0.1:${healthPort}/healthz`;
        const child = startLocalProcess(runnerId, join(root, 'runner/main.ts'), {
          ...localAwsEnvironment(aws),
          RUNNER_ID: runnerId,
          HEALTH_PORT: String(healthPort),
          SESSION_TRANSACTION_CONCURRENCY: '1',
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
          // Counted all the same (its /healthz shows them), but no EMF lines in the terminal each minute.
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...whatsapp.env,
        });
        return { runnerId, healthUrl, process: child };
      });
      const stopAll = async () => {
        await Promise.all(runners.map((runner) => runner.process.stop()));
      };
      const ready = await Promise.allSettled(
        runners.map((runner) =>
          runner.process.untilReady((signal) => healthyAt(runner.healthUrl, runner.runnerId, signal), 60_000),
        ),
      );
      const failed = ready.find((outcome) => outcome.status === 'rejected');
      if (failed) {
        await stopAll();
        throw failed.reason;
      }
      for (const { runnerId, healthUrl, process: runner } of runners) {
        platform.runners.push({ runnerId, healthUrl });
        details.add(`Runner ${runnerId} (pid ${runner.pid})`, `  health ${healthUrl}`);
      }
      const ports = runners.map((runner) => new URL(runner.healthUrl).port);
      return {
        detail: count === 1 ? `health port ${ports[0]}` : `health ports ${ports[0]}–${ports.at(-1)}`,
        stop: stopAll,
      };
    },
  };
}

/** Resolves once the health endpoint answers 200 as this runner (not some other process on the port). */
async function healthyAt(url: string, runnerId: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const health = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      .then(async (response) => runnerHealthSchema.safeParse(await response.json()).data)
      .catch(() => undefined);
    if (health?.healthy && health.runnerId === runnerId) return;
    await sleep(200);
  }
}

/** The operator's key for this machine: kept in the state directory so scripts keep working. */
function localAdminKey(file: string): string {
  if (process.env.ADMIN_API_KEY) return process.env.ADMIN_API_KEY;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `adm_${randomBytes(32).toString('base64url')}`;
  writePrivateFile(file, `${key}\n`);
  return key;
}

/** The HTTPS API's functions behind the local front (API Gateway's stand-in), as its own process. */
function apiPart(files: LocalStateFiles, details: StartDetails): Part {
  return {
    name: 'API',
    async start(platform) {
      const { aws } = platform;
      if (!aws) throw new Error('the API needs local AWS');
      const adminKey = localAdminKey(files.adminKey);
      const api = startLocalProcess(
        'the API',
        join(root, 'infra/local/api-main.ts'),
        {
          ...localAwsEnvironment(aws),
          ADMIN_API_KEY: adminKey,
          LOCAL_API_PORT: String(defaultPort('LOCAL_API_PORT', 3000)),
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
        { ipc: true },
      );
      const url = await api.untilReady(() => api.readyMessage<string>(), 60_000);
      platform.api = { url, adminKey };
      const keyFrom = process.env.ADMIN_API_KEY
        ? '"$ADMIN_API_KEY"'
        : `$(cat ${displayPath(files.adminKey)})`;
      details.add(
        `HTTPS API (local front for API Gateway, pid ${api.pid}): ${url}`,
        [
          `  docs ${url}/docs, OpenAPI ${url}/v1/openapi.json, health ${url}/health`,
          `  admin key in ${process.env.ADMIN_API_KEY ? 'ADMIN_API_KEY' : displayPath(files.adminKey)}; try:`,
          `  curl -s -X POST ${url}/v1/tenants -H "Authorization: Bearer ${keyFrom}" -H 'content-type: application/json' -d '{"name":"Clínica"}'`,
        ].join('\n'),
      );
      return { detail: `port ${new URL(url).port}`, stop: () => api.stop() };
    },
  };
}

/**
 * The queue consumers' Lambda handlers (the event recorder, the webhook dispatcher) under a local
 * SQS event source, as their own process: what GET /v1/events lists is recorded here, and webhooks
 * are delivered from here. They are retried on a schedule a hundred times shorter than a deployed
 * stage's (5 s → 50 ms, a day → 14 min; `WEBHOOK_RETRY_SCALE`) and may point at receivers on this
 * machine (`WEBHOOK_ALLOW_LOOPBACK`).
 */
function consumersPart(details: StartDetails): Part {
  return {
    name: 'queue consumers',
    async start(platform) {
      const { aws } = platform;
      if (!aws) throw new Error('the consumers need local AWS');
      const consumers = startLocalProcess(
        'the queue consumers',
        join(root, 'infra/local/consumers-main.ts'),
        {
          ...localAwsEnvironment(aws),
          WEBHOOK_RETRY_SCALE: process.env.WEBHOOK_RETRY_SCALE ?? '0.01',
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
        { ipc: true },
      );
      const queues = await consumers.untilReady(
        () => consumers.readyMessage<{ name: string; queueUrl: string }[]>(),
        60_000,
      );
      details.add(
        `Queue consumers (pid ${consumers.pid}; Lambda's SQS event source, infra/local/queue-consumers.ts):`,
        [
          ...queues.map((queue) => `  ${queue.name} ← ${queue.queueUrl.split('/').pop()}`),
          '  webhooks may point at http://127.0.0.1:<port>/… on this machine (WEBHOOK_ALLOW_LOOPBACK)',
        ].join('\n'),
      );
      return { detail: `${queues.length} queues`, stop: () => consumers.stop() };
    },
  };
}

/**
 * The dashboard (docs/dashboard.md), built first when its sources changed, with the API behind it on
 * one origin (`/v1/*` proxied).
 */
function dashboardPart(details: StartDetails): Part {
  return {
    name: 'dashboard',
    async start(platform) {
      const { aws, api } = platform;
      if (!aws || !api) throw new Error('the dashboard needs local AWS and the API');
      const dashboard = await startDashboardServer({
        port: defaultPort('LOCAL_DASHBOARD_PORT', 8090),
        apiUrl: api.url,
        // Media download URLs are presigned for the emulator's S3.
        mediaOrigins: [new URL(aws.endpoint).origin],
      });
      details.add(
        `Dashboard: ${dashboard.url}`,
        `  ${dashboard.build === 'built' ? 'built now' : 'its build was current'} (.local/dashboard/); /v1/* goes to ${api.url}; sign in with a tenant key or the admin key`,
      );
      return {
        detail: `port ${new URL(dashboard.url).port}${dashboard.build === 'built' ? ', built' : ''}`,
        dashboardUrl: dashboard.url,
        stop: () => dashboard.stop(),
      };
    },
  };
}

/** Made through the public API with the admin key, or the one made before while the API knows it. */
function demoTenantPart(files: LocalStateFiles): Part {
  return {
    name: 'demo tenant',
    async start(platform) {
      const { api } = platform;
      if (!api) throw new Error('the demo tenant needs the API');
      const { tenant, reused } = await ensureDemoTenant({
        apiUrl: api.url,
        adminKey: api.adminKey,
        file: files.demoTenant,
      });
      platform.demoTenant = { tenant, reused };
      return { detail: reused ? 'reused' : 'created' };
    },
  };
}

/** A connected phone in the simulator, through its admin API: made, or found again. */
function virtualPhonePart(): Part {
  return {
    name: 'virtual phone',
    async start(platform) {
      const adminUrl = platform.whatsapp?.adminUrl;
      if (!adminUrl) return { skipped: true, detail: 'none: no admin API beside that simulator' };
      const { phone, reused } = await ensureVirtualPhone({ adminUrl });
      platform.virtualPhone = { phone, reused };
      return { detail: `${reused ? 'reused' : 'created'} +${phone.phoneNumber}` };
    },
  };
}

function partsFor(options: StartOptions, files: LocalStateFiles, details: StartDetails): Part[] {
  const { whatsapp } = options;
  const healthPortBase = defaultPort('LOCAL_RUNNER_HEALTH_PORT', 8081);
  return [
    localAwsPart(files, options.fresh, details),
    whatsapp.kind === 'simulator'
      ? simulatorPart(files, details)
      : whatsapp.kind === 'external'
        ? externalSimulatorPart(whatsapp, details)
        : liveWhatsAppPart(),
    runnersPart(options.runners, healthPortBase, details),
    apiPart(files, details),
    consumersPart(details),
    dashboardPart(details),
    demoTenantPart(files),
    // Live WhatsApp has no virtual phones; a simulator elsewhere has one if its admin API answered.
    ...(whatsapp.kind === 'live' ? [] : [virtualPhonePart()]),
  ];
}

function platformFile(
  platform: Platform,
  files: LocalStateFiles,
  dashboardUrl: string | undefined,
): PlatformFile {
  const { api, whatsapp, demoTenant } = platform;
  if (!api || !whatsapp || !demoTenant) throw new Error('the platform is not complete');
  return {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    apiUrl: api.url,
    docsUrl: `${api.url}/docs`,
    openApiUrl: `${api.url}/v1/openapi.json`,
    dashboardUrl: dashboardUrl ?? null,
    adminKeyFile: process.env.ADMIN_API_KEY ? null : files.adminKey,
    simulatorUrl: whatsapp.adminUrl,
    whatsapp: whatsapp.info,
    runners: platform.runners,
    demoTenant: demoTenant.tenant,
    virtualPhone: platform.virtualPhone
      ? { phoneNumber: platform.virtualPhone.phone.phoneNumber, jid: platform.virtualPhone.phone.jid }
      : null,
  };
}

async function main(): Promise<void> {
  let options: StartOptions;
  try {
    options = parseStartOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof StartOptionsError)) throw error;
    console.error(`npm start: ${error.message}\n(npm start -- --help lists the options)`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(START_HELP);
    return;
  }
  const files = localStateFiles();
  const details = new StartDetails(files.startDetails, options.verbose);
  keepLibraryChatterInDetails(details);
  if (options.fresh) {
    // Before any part reads it: moto's state, the simulator's phones, the demo tenant.
    const removed = clearSavedState(files);
    details.add(
      '--fresh: starting from empty state',
      removed.length
        ? removed.map((file) => `  removed ${displayPath(file)}`).join('\n')
        : '  nothing was saved',
    );
  }
  let parts: Part[];
  try {
    parts = partsFor(options, files, details);
  } catch (error) {
    if (!(error instanceof StartOptionsError)) throw error;
    console.error(`npm start: ${error.message}`);
    process.exit(2);
  }

  const running: { name: string; part: RunningPart }[] = [];
  let stopping = false;
  // The emulator runs in its own unref'd process; this keeps us alive until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30);

  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const stoppable = running.filter(({ part }) => part.stop).reverse();
    const names = stoppable.map(({ name }) => name);
    console.log(`\n${reason}: stopping ${names.join(', ') || 'nothing'}…`);
    for (const { name, part } of stoppable) {
      try {
        const stopBegan = performance.now();
        await part.stop?.();
        details.add(`Stopped ${name}`, `  in ${formatDuration(performance.now() - stopBegan)}`);
      } catch (error) {
        console.error(`  ${name} did not stop cleanly:`, error);
        exitCode = 1;
      }
    }
    clearInterval(keepAlive);
    console.log('Stopped.');
    process.exit(exitCode);
  };
  // A Ctrl-C reaches every process of the terminal's group (npm, the bootstrap, us) and each relays
  // it too, so one keypress arrives several times: only a later one forces the exit.
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!stopping) {
        firstSignalAt = Date.now();
        void shutdown(signal, 0);
      } else if (Date.now() - firstSignalAt > 1_000) {
        console.error(`\n${signal} again: exiting without waiting`);
        process.exit(1);
      }
    });
  }

  const platform: Platform = { runners: [] };
  const showsPending = process.stdout.isTTY === true;
  for (const part of parts) {
    if (stopping) return;
    const partBegan = performance.now();
    if (showsPending) process.stdout.write(pendingLine(part.name));
    try {
      const started = await part.start(platform);
      running.push({ name: part.name, part: started });
      if (showsPending) process.stdout.write('\r\x1b[2K');
      console.log(
        progressLine({
          name: part.name,
          detail: started.detail,
          skipped: started.skipped,
          ms: performance.now() - partBegan,
        }),
      );
    } catch (error) {
      if (showsPending) process.stdout.write('\r\x1b[2K');
      const reason = error instanceof Error ? error.message : String(error);
      details.add(`${part.name} failed:`, error instanceof Error ? (error.stack ?? reason) : reason);
      if (error instanceof LocalProcessError && error.output) {
        details.add(`What it printed last (stderr):`, error.output);
      }
      console.error(failureLine(part.name, reason, displayPath(details.file)));
      await shutdown('start-up failed', 1);
      return;
    }
  }

  const dashboardUrl = running.find(({ part }) => part.dashboardUrl)?.part.dashboardUrl;
  const description = platformFile(platform, files, dashboardUrl);
  writePrivateFile(files.platform, `${JSON.stringify(description, null, 2)}\n`);
  console.log(
    `\n${renderSummary({
      platform: description,
      adminKey: platform.api?.adminKey ?? '',
      elapsedMs: performance.now() - began,
      state: platform.state ?? { kind: 'external' },
      reused: {
        demoTenant: platform.demoTenant?.reused ?? false,
        virtualPhone: platform.virtualPhone?.reused ?? false,
      },
      files: {
        stateDir: `${displayPath(files.dir)}/`,
        adminKey: process.env.ADMIN_API_KEY ? 'from ADMIN_API_KEY' : displayPath(files.adminKey),
        demoTenant: displayPath(files.demoTenant),
        platform: displayPath(files.platform),
        details: displayPath(files.startDetails),
        awsEnv: displayPath(files.awsEnv),
      },
    })}\n`,
  );
}

await main();
