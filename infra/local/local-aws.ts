// Local AWS for tests and `npm start`: moto on a free port or a given one (or an emulator already running, such as
// LocalStack), with the stateful stack synthesized and provisioned into it.
import type { RuntimeEnvironment } from '../runtime-environment.ts';
import { EMULATOR_REGION } from './aws-clients.ts';
import { startMotoServer } from './moto-server.ts';
import { type ProvisionedStack, provisionStack } from './provision.ts';
import { synthesizeStatefulStack } from './synthesize.ts';

export interface LocalAwsOptions {
  /** Use this emulator instead of starting moto (it is left running on stop). */
  readonly externalEndpoint?: string;
  /** moto's port; by default a free one. */
  readonly port?: number;
  /** CDK context overrides, e.g. `{ shardCount: 4 }`. */
  readonly context?: Record<string, unknown>;
  /**
   * moto's state across restarts (moto-server.ts): restored before provisioning, which keeps what
   * exists and adds what the template has new. Not for an external emulator, which keeps its own.
   */
  readonly stateFile?: string;
  readonly snapshotIntervalSeconds?: number;
}

/**
 * `CLINIC_WA_EXTERNAL_AWS=1` with `AWS_ENDPOINT_URL` provisions into that emulator (LocalStack, say)
 * instead of starting moto; `LOCAL_AWS_PORT` pins moto's port, else `defaults.port` (`npm start`'s
 * fixed one), else a free one (the tests').
 */
export function localAwsOptionsFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaults: { readonly port?: number } = {},
): LocalAwsOptions {
  if (env.CLINIC_WA_EXTERNAL_AWS === '1') {
    if (!env.AWS_ENDPOINT_URL) {
      throw new Error('CLINIC_WA_EXTERNAL_AWS=1 needs AWS_ENDPOINT_URL (the emulator to provision into)');
    }
    return { externalEndpoint: env.AWS_ENDPOINT_URL };
  }
  const port = env.LOCAL_AWS_PORT ? Number(env.LOCAL_AWS_PORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw new Error(`LOCAL_AWS_PORT must be a port number, got ${env.LOCAL_AWS_PORT}`);
  }
  const chosen = port ?? defaults.port;
  return chosen === undefined ? {} : { port: chosen };
}

export interface LocalAws {
  readonly endpoint: string;
  readonly region: string;
  readonly env: RuntimeEnvironment;
  readonly stack: ProvisionedStack;
  readonly timings: { readonly emulatorMs: number; readonly synthMs: number; readonly provisionMs: number };
  stop(): Promise<void>;
}

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const region = EMULATOR_REGION;
  const began = Date.now();
  // moto boots while the stack synthesizes: synthesis is synchronous, so start moto first.
  const motoStarting = options.externalEndpoint
    ? undefined
    : startMotoServer({
        port: options.port,
        stateFile: options.stateFile,
        snapshotIntervalSeconds: options.snapshotIntervalSeconds,
      });
  motoStarting?.catch(() => {}); // awaited below; keeps an early failure from being "unhandled"
  const synthBegan = Date.now();
  const { stackName, template } = synthesizeStatefulStack(options.context);
  const synthMs = Date.now() - synthBegan;
  const moto = await motoStarting;
  const endpoint = options.externalEndpoint ?? moto?.endpoint;
  if (!endpoint) throw new Error('No emulator endpoint');
  const emulatorMs = Date.now() - began - synthMs;
  try {
    const provisionBegan = Date.now();
    const stack = await provisionStack(template, { endpoint, region, stackName });
    return {
      endpoint,
      region,
      env: stack.environment,
      stack,
      timings: { emulatorMs, synthMs, provisionMs: Date.now() - provisionBegan },
      stop: async () => moto?.stop(),
    };
  } catch (error) {
    await moto?.stop();
    throw error;
  }
}
