// What one AWS SDK call costs the calling process when the service itself costs nothing: DynamoDB
// GetItem through the runner's own client factory (document client, marshalling, SigV4, HTTP
// keep-alive) against an endpoint in a process of its own that answers at once, measured in a fresh
// process after a warm-up. It is a floor under what each of the runner's AWS calls costs its CPU on
// this machine, whether moto, LocalStack or AWS serves them, so the benchmark can say how much of a
// message's CPU no emulator could save. `node --import tsx bench/runner/sdk-call-cost.ts` prints it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { EMULATOR_CREDENTIAL_ENV, EMULATOR_REGION } from '#infra/local/aws-clients.ts';
import { createDynamoClient } from '#shared/aws/clients.ts';
import { loadAwsConfig } from '#shared/config.ts';

export interface SdkCallCost {
  readonly calls: number;
  /** CPU of this process per call (user + system), in ms. */
  readonly cpuMsPerCall: number;
  readonly callsPerSecond: number;
}

// One DynamoDB JSON 1.0 answer for every request; the port goes out on stdout.
const INSTANT_ENDPOINT = `
const server = require('node:http').createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    response.end('{"Item":{"pk":{"S":"channel"},"sk":{"S":"record"},"state":{"S":"open"}}}');
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startInstantEndpoint(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', INSTANT_ENDPOINT], { stdio: ['ignore', 'pipe', 'inherit'] });
  let listening = false;
  const exited = once(child, 'exit').then(([code]) => {
    if (!listening) throw new Error(`the instant endpoint exited (${code}) before it listened`);
  });
  const [chunk] = (await Promise.race([once(child.stdout, 'data'), exited])) as [Buffer];
  listening = true;
  return { endpoint: `http://127.0.0.1:${chunk.toString().trim()}`, child };
}

async function measureHere(calls = 3_000, warmUpCalls = 1_000): Promise<SdkCallCost> {
  const { endpoint, child } = await startInstantEndpoint();
  const dynamo = createDynamoClient(
    loadAwsConfig({ AWS_REGION: EMULATOR_REGION, AWS_ENDPOINT_URL: endpoint }),
  );
  try {
    const get = (i: number) =>
      dynamo.send(new GetCommand({ TableName: 'sessions', Key: { pk: `channel-${i}`, sk: 'record' } }));
    // Warm-up: modules, credentials, the connection, and the JIT (the runner runs for days).
    for (let i = 0; i < warmUpCalls; i++) await get(i);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < calls; i++) await get(i);
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      calls,
      cpuMsPerCall: (cpu.user + cpu.system) / 1000 / calls,
      callsPerSecond: (calls / elapsedMs) * 1000,
    };
  } finally {
    dynamo.destroy();
    child.kill();
  }
}

/** Measures in a child process: the benchmark's own (simulator, a large heap) would distort it. */
export async function measureSdkCallCost(): Promise<SdkCallCost> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
  ]);
  return JSON.parse(stdout) as SdkCallCost;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Object.assign(process.env, EMULATOR_CREDENTIAL_ENV);
  console.log(JSON.stringify(await measureHere()));
}
