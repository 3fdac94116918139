// `npm start`: the platform on this machine. Each part starts in order, prints what it runs, and
// stops in reverse order on Ctrl-C or SIGTERM: local AWS (moto, provisioned from the CDK template),
// the WhatsApp simulator, a runner, the HTTPS API behind its local front, the queue consumers (the
// event recorder, the webhook dispatcher), the dashboard. What they store survives a restart
// (local-state.ts): `LOCAL_FRESH=true` starts from empty state.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Simulator, startSimulator } from '../../test/simulator/simulator.ts';
import { RUNTIME_ENVIRONMENT_KEYS } from '../runtime-environment.ts';
import { EMULATOR_CREDENTIAL_ENV } from './aws-clients.ts';
import { startDashboardServer } from './dashboard-server.ts';
import { type LocalAws, localAwsOptionsFromEnvironment, startLocalAws } from './local-aws.ts';
import { clearSavedState, localStateFromEnvironment, readSavedAwsState } from './local-state.ts';

interface RunningPart {
  readonly name: string;
  stop(): Promise<void>;
}

/** What later parts build on: the emulator and the environment of the provisioned stack. */
interface Platform {
  aws?: LocalAws;
  simulator?: Simulator;
  apiUrl?: string;
}

type Part = (platform: Platform) => Promise<RunningPart>;

const root = fileURLToPath(new URL('../../', import.meta.url));
const state = localStateFromEnvironment(root);
const { envFile } = state;
/** A state file as the developer would type it: relative to the project when it is inside. */
const shown = (file: string) => (file.startsWith(root) ? relative(root, file) : file);

const localAwsPart: Part = async (platform) => {
  const external = localAwsOptionsFromEnvironment();
  if (state.fresh) {
    const removed = clearSavedState(state);
    console.log(
      `\nLOCAL_FRESH: starting from empty state${removed.length ? ` (removed ${removed.join(', ')})` : ''}`,
    );
  }
  // An external emulator keeps (or not) its own state; moto's is saved beside the simulator's.
  const options = external.externalEndpoint ? external : { ...external, stateFile: state.awsStateFile };
  const saved = options.stateFile ? readSavedAwsState(options.stateFile) : undefined;
  const aws = await startLocalAws(options);
  platform.aws = aws;
  const { emulatorMs, synthMs, provisionMs } = aws.timings;
  console.log(
    `\nLocal AWS: ${options.externalEndpoint ? 'external emulator' : 'moto'} at ${aws.endpoint} (${aws.region}, account ${aws.stack.accountId})`,
  );
  console.log(
    `  ready in ${emulatorMs} ms, stack synthesized in ${synthMs} ms, provisioned in ${provisionMs} ms`,
  );
  if (options.stateFile) {
    console.log(
      saved
        ? `  state restored from ${options.stateFile} (saved ${saved.savedAt}); saved again every 30 s and on stop`
        : `  state kept in ${options.stateFile}: saved every 30 s and on stop (LOCAL_FRESH=true starts empty)`,
    );
  }
  console.log('\nResources of the stateful stack:');
  const typeWidth = Math.max(...aws.stack.resources.map((resource) => resource.type.length));
  const byType = [...aws.stack.resources].sort(
    (a, b) =>
      a.type.localeCompare(b.type) || a.physicalId.localeCompare(b.physicalId, 'en', { numeric: true }),
  );
  for (const resource of byType) {
    console.log(`  ${resource.type.padEnd(typeWidth)}  ${resource.physicalId}`);
  }
  console.log(
    `  (${aws.stack.skipped.length} access policies and metadata have no local meaning and were skipped)`,
  );

  const environment = {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    ...EMULATOR_CREDENTIAL_ENV,
    ...Object.fromEntries(RUNTIME_ENVIRONMENT_KEYS.map((key) => [key, aws.env[key]])),
  };
  const exports = Object.entries(environment).map(([key, value]) => `export ${key}='${value}'`);
  mkdirSync(join(envFile, '..'), { recursive: true });
  writeFileSync(envFile, `${exports.join('\n')}\n`);
  console.log(`\nEnvironment (also in ${envFile}: \`source ${shown(envFile)}\`):\n`);
  console.log(exports.join('\n'));
  return {
    name: 'local AWS',
    stop: async () => {
      await aws.stop();
    },
  };
};

/** The WhatsApp simulator, its state kept beside moto's so paired channels survive a restart. */
const simulatorPart: Part = async (platform) => {
  const port = Number(process.env.LOCAL_SIM_PORT ?? 7000);
  const simulator = await startSimulator({
    port,
    snapshotFile: state.simulatorStateFile,
  });
  platform.simulator = simulator;
  console.log(`\nWhatsApp simulator: ${simulator.wsUrl}`);
  console.log(`  admin API ${simulator.adminUrl} (GET /trust, POST /phones, …: test/simulator/README.md)`);
  return { name: 'WhatsApp simulator', stop: () => simulator.stop() };
};

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

/** One runner, as its own process configured through its environment, like an ECS task. */
const runnerPart: Part = async (platform) => {
  const { aws, simulator } = platform;
  if (!aws || !simulator) throw new Error('the runner needs local AWS and the simulator');
  const child = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'runner/main.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...localAwsEnvironment(aws),
      RUNNER_ID: 'local-runner-1',
      HEALTH_PORT: process.env.LOCAL_RUNNER_HEALTH_PORT ?? '8081',
      SESSION_TRANSACTION_CONCURRENCY: '1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      WA_MODE: 'simulator',
      WA_WEBSOCKET_URL: simulator.wsUrl,
      WA_TRUST_ROOT: simulator.rootPublicKey.toString('base64'),
      WA_MEDIA_CA_PEM: simulator.mediaCaPem,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  console.log(
    `\nRunner local-runner-1 (pid ${child.pid}): health at http://127.0.0.1:${process.env.LOCAL_RUNNER_HEALTH_PORT ?? '8081'}/healthz`,
  );
  return {
    name: 'runner',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

/** The operator's key for this machine: kept in the state directory so scripts keep working across restarts. */
function localAdminKey(): string {
  if (process.env.ADMIN_API_KEY) return process.env.ADMIN_API_KEY;
  const file = state.adminKeyFile;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `adm_${randomBytes(32).toString('base64url')}`;
  mkdirSync(state.directory, { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** The HTTPS API's functions behind the local front (API Gateway's stand-in), as its own process. */
const apiPart: Part = async (platform) => {
  const { aws } = platform;
  if (!aws) throw new Error('the API needs local AWS');
  const adminKey = localAdminKey();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra/local/api-main.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...localAwsEnvironment(aws),
      ADMIN_API_KEY: adminKey,
      LOCAL_API_PORT: process.env.LOCAL_API_PORT ?? '3000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { ready: string }).ready));
    child.once('exit', (code) => reject(new Error(`the API exited with ${code} before it was ready`)));
  });
  platform.apiUrl = url;
  console.log(`\nHTTPS API (local front for API Gateway): ${url}`);
  console.log(`  docs ${url}/docs, OpenAPI ${url}/v1/openapi.json, health ${url}/health`);
  const adminKeyPath = shown(state.adminKeyFile);
  console.log(`  admin key (also in ${adminKeyPath}): ${adminKey}`);
  console.log(
    `  try: curl -s -X POST ${url}/v1/tenants -H "Authorization: Bearer $(cat ${adminKeyPath})" -H 'content-type: application/json' -d '{"name":"Clínica"}'`,
  );
  return {
    name: 'API',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

/**
 * The queue consumers' Lambda handlers (the event recorder, the webhook dispatcher) under a local
 * SQS event source, as their own process: what GET /v1/events lists is recorded here, and webhooks
 * are delivered from here. They are retried on a schedule a hundred times shorter than a deployed
 * stage's (5 s → 50 ms, a day → 14 min; `WEBHOOK_RETRY_SCALE`) and may point at receivers on this
 * machine (`WEBHOOK_ALLOW_LOOPBACK`).
 */
const consumersPart: Part = async (platform) => {
  const { aws } = platform;
  if (!aws) throw new Error('the consumers need local AWS');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra/local/consumers-main.ts')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...localAwsEnvironment(aws),
      WEBHOOK_RETRY_SCALE: process.env.WEBHOOK_RETRY_SCALE ?? '0.01',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const consumers = await new Promise<{ name: string; queueUrl: string }[]>((resolve, reject) => {
    child.once('message', (message) =>
      resolve((message as { ready: { name: string; queueUrl: string }[] }).ready),
    );
    child.once('exit', (code) =>
      reject(new Error(`the consumers exited with ${code} before they were ready`)),
    );
  });
  console.log(
    `\nQueue consumers (pid ${child.pid}; Lambda's SQS event source, infra/local/queue-consumers.ts):`,
  );
  for (const consumer of consumers) {
    console.log(`  ${consumer.name} ← ${consumer.queueUrl.split('/').pop()}`);
  }
  console.log('  webhooks may point at http://127.0.0.1:<port>/… on this machine (WEBHOOK_ALLOW_LOOPBACK)');
  return {
    name: 'queue consumers',
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

/** The dashboard (docs/dashboard.md), built if its sources changed, with the API behind it on one origin. */
const dashboardPart: Part = async (platform) => {
  const { aws, apiUrl } = platform;
  if (!aws || !apiUrl) throw new Error('the dashboard needs local AWS and the API');
  const dashboard = await startDashboardServer({
    port: Number(process.env.LOCAL_DASHBOARD_PORT ?? 8090),
    apiUrl,
    // Media download URLs are presigned for the emulator's S3.
    mediaOrigins: [new URL(aws.endpoint).origin],
  });
  console.log(`\nDashboard: ${dashboard.url} (sign in with a tenant key or the admin key)`);
  return { name: 'dashboard', stop: () => dashboard.stop() };
};

const PARTS: readonly Part[] = [
  localAwsPart,
  simulatorPart,
  runnerPart,
  apiPart,
  consumersPart,
  dashboardPart,
];

async function main(): Promise<void> {
  const running: RunningPart[] = [];
  let stopping = false;
  // The emulator runs in its own unref'd process; this keeps us alive until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30);

  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    console.log(
      `\n${reason}: stopping ${
        running
          .map((part) => part.name)
          .reverse()
          .join(', ') || 'nothing'
      }…`,
    );
    for (const part of [...running].reverse()) {
      try {
        await part.stop();
      } catch (error) {
        console.error(`  ${part.name} did not stop cleanly:`, error);
        exitCode = 1;
      }
    }
    clearInterval(keepAlive);
    console.log('Stopped.');
    process.exit(exitCode);
  };
  // A Ctrl-C reaches every process of the terminal's group (npm, the bootstrap, tsx, us) and each
  // relays it too, so one keypress arrives several times: only a later one forces the exit.
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

  const platform: Platform = {};
  try {
    for (const part of PARTS) {
      if (stopping) return;
      running.push(await part(platform));
    }
  } catch (error) {
    console.error('\nStart-up failed:', error instanceof Error ? error.message : error);
    await shutdown('start-up failed', 1);
    return;
  }
  console.log('\nRunning. Ctrl-C to stop.');
}

await main();
