// `npm run fuzz:api`: schemathesis, the OpenAPI-driven fuzzer, against the API on this machine. It
// starts local AWS (moto, provisioned from the CDK template as `npm start` does) and the API behind
// its local front on a free port with a fresh admin key, plants a tenant with a key of all scopes
// and something in it (channels, messages both ways) and a sandbox tenant for the operator's
// routes, then runs schemathesis on `<front>/v1/openapi.json`. It prints a summary and writes
// bench/results/api-fuzz.json; schemathesis' own reports and the API's log stay in .local/api-fuzz/.
// Arguments go on to `schemathesis run`: `npm run fuzz:api -- --max-examples 200 --seed 42`.
// Exits non-zero when a check failed.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMULATOR_CREDENTIAL_ENV } from '#infra/local/aws-clients.ts';
import { type LocalAws, localAwsOptionsFromEnvironment, startLocalAws } from '#infra/local/local-aws.ts';
import { createPlatform } from '#shared/platform.ts';
import { ApiClient } from '../integration/api/support/api-client.ts';
import { plantTenant } from '../integration/api/support/tenant-fixtures.ts';
import { CHECKS, KEY_VARIABLES, schemathesisConfig } from './schemathesis-config.ts';
import { describe, summarize } from './schemathesis-summary.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const workDir = join(root, '.local', 'api-fuzz');
const resultFile = join(root, 'bench', 'results', 'api-fuzz.json');
const schemathesis = join(root, '.venv', 'bin', 'schemathesis');
/** Cases per operation and phase unless `--max-examples` says otherwise: a run of a few minutes. */
const DEFAULT_MAX_EXAMPLES = '25';

const reports = {
  json: join(workDir, 'report.json'),
  ndjson: join(workDir, 'events.ndjson'),
  junit: join(workDir, 'junit.xml'),
};

/** The API's functions behind the local front, as its own process like `npm start` runs it. */
async function startApi(env: NodeJS.ProcessEnv): Promise<{ url: string; process: ChildProcess }> {
  const log = openSync(join(workDir, 'api.log'), 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'infra/local/api-main.ts')], {
    cwd: root,
    stdio: ['ignore', log, log, 'ipc'],
    env,
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { ready: string }).ready));
    child.once('exit', (code) =>
      reject(new Error(`the API exited with ${code}; see ${join(workDir, 'api.log')}`)),
    );
  });
  return { url, process: child };
}

function runSchemathesis(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(schemathesis, args, { cwd: workDir, stdio: 'inherit', env });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

async function main(): Promise<number> {
  const extraArgs = process.argv.slice(2);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const began = Date.now();

  let aws: LocalAws | undefined;
  let api: ChildProcess | undefined;
  const stop = async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api?.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    }
    await aws?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stop().then(() => process.exit(1)));

  try {
    aws = await startLocalAws(localAwsOptionsFromEnvironment());
    console.log(`local AWS at ${aws.endpoint}`);
    const adminKey = `adm_${randomBytes(32).toString('base64url')}`;
    const awsEnv = {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      ...EMULATOR_CREDENTIAL_ENV,
      ...aws.env,
    };
    const started = await startApi({
      ...process.env,
      ...awsEnv,
      ADMIN_API_KEY: adminKey,
      LOCAL_API_PORT: '0',
      LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    api = started.process;
    console.log(`API at ${started.url} (log: ${join(workDir, 'api.log')})`);

    const anonymous = new ApiClient(started.url);
    const clients = { admin: anonymous.as(adminKey), anonymous };
    // The SDK takes credentials from the process environment: the emulator's, never real ones.
    Object.assign(process.env, EMULATOR_CREDENTIAL_ENV);
    const platform = createPlatform({ source: 'runner', env: { ...process.env, ...awsEnv } });
    const tenant = await plantTenant(clients, platform, 'schemathesis');
    const sandbox = await plantTenant(clients, platform, 'sandbox');
    const configFile = join(workDir, 'schemathesis.toml');
    writeFileSync(configFile, schemathesisConfig(tenant, sandbox));

    const args = [
      '--config-file',
      configFile,
      'run',
      `${started.url}/v1/openapi.json`,
      '--checks',
      CHECKS.join(','),
      // One worker: schemathesis' parallel workers race in Hypothesis' caches (internal KeyErrors).
      '--workers',
      '1',
      '--report',
      'json,ndjson,junit',
      '--report-json-path',
      reports.json,
      '--report-ndjson-path',
      reports.ndjson,
      '--report-junit-path',
      reports.junit,
      ...(extraArgs.includes('--max-examples') || extraArgs.includes('-n')
        ? []
        : ['--max-examples', DEFAULT_MAX_EXAMPLES]),
      ...extraArgs,
    ];
    const exitCode = await runSchemathesis(args, {
      ...process.env,
      [KEY_VARIABLES.admin]: adminKey,
      [KEY_VARIABLES.tenant]: tenant.key,
    });

    const summary = summarize(reports.json, reports.ndjson, CHECKS);
    const result = {
      ...summary,
      command: `npm run fuzz:api${extraArgs.length ? ` -- ${extraArgs.join(' ')}` : ''}`,
      checks: CHECKS,
      wallSeconds: Math.round((Date.now() - began) / 100) / 10,
      finishedAt: new Date().toISOString(),
    };
    mkdirSync(join(resultFile, '..'), { recursive: true });
    writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\n${describe(summary)}\n\nwritten to ${resultFile}; reports in ${workDir}`);
    const failed = Object.values(summary.failuresByCheck).some((count) => count.failed > 0);
    return failed || summary.errors.length ? Math.max(exitCode, 1) : exitCode;
  } finally {
    await stop();
  }
}

process.exitCode = await main();
