// What the runner's native curve saves: curve25519-js against node:crypto per operation, and the CPU
// of Baileys returning logins before and after `installNativeCurve()`. The simulator runs in a child
// process (its CLI and admin API), so `process.cpuUsage()` here counts the Baileys client only.
//
// Installing the native curve cannot be undone in a process, so the stock figures are taken first;
// when the process already has it installed, they are reported as NaN.
import { type ChildProcess, spawn } from 'node:child_process';
import { sign as ed25519Sign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type AuthenticationState, Curve, makeWASocket, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import pino from 'pino';
import { installNativeCurve, isNativeCurveInstalled } from '#runner/crypto/install-native-curve.ts';
import { x25519SharedKey } from '#runner/crypto/x25519.ts';
import { verifyXEdDSA } from '#runner/crypto/xeddsa.ts';
import { memoryAuthState } from '#test/simulator';

export const DEFAULT_CURVE_BENCH_OPTIONS = {
  /** Operations per native measurement. */
  nativeOperations: 2_000,
  /** Operations per curve25519-js measurement (~10 ms each). */
  javascriptOperations: 40,
  /** Measured returning logins per phase. */
  logins: 50,
  /** Unmeasured logins before each phase. */
  warmupLogins: 5,
};

export type CurveBenchOptions = typeof DEFAULT_CURVE_BENCH_OPTIONS;

export interface OperationFigures {
  readonly opsPerSecond: number;
  /** CPU (user + system) per operation, in milliseconds. */
  readonly cpuMsPerOp: number;
}

export interface LoginFigures {
  readonly logins: number;
  /** Client CPU (user + system) per returning login, in milliseconds. */
  readonly cpuMsPerLogin: number;
  readonly wallMsP50: number;
}

export interface CurveBenchResult {
  readonly name: 'curve';
  readonly startedAt: string;
  readonly parameters: CurveBenchOptions;
  readonly operations: {
    readonly verify: {
      readonly curve25519Js: OperationFigures;
      readonly native: OperationFigures;
      readonly nativeNewKey: OperationFigures;
    };
    /** No native XEdDSA signer: node:crypto signs Ed25519 from a seed, never from a raw scalar. */
    readonly sign: {
      readonly curve25519Js: OperationFigures;
      readonly ed25519ForReference: OperationFigures;
    };
    readonly sharedKey: {
      readonly curve25519Js: OperationFigures;
      /** What Baileys used before: libsignal's `calculateAgreement`, already native X25519 via DER. */
      readonly libsignal: OperationFigures;
      readonly native: OperationFigures;
    };
  };
  readonly logins: { readonly stock: LoginFigures; readonly native: LoginFigures };
  /** The same figures as flat metrics, in the shape of bench/benchmark.ts. */
  readonly metrics: Array<{ readonly name: string; readonly value: number; readonly unit: string }>;
}

interface CurveJs {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  sharedKey(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

interface LibsignalCurve {
  calculateAgreement(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fromLibsignal = createRequire(createRequire(import.meta.url).resolve('libsignal/src/curve.js'));
const libsignalCurve = fromLibsignal('./curve.js') as LibsignalCurve;
const curveJs = fromLibsignal('curve25519-js') as CurveJs;
// Taken at load, before anything here installs the native curve (which replaces `verify`).
const curveJsVerify = curveJs.verify;

export async function benchmarkCurve(overrides: Partial<CurveBenchOptions> = {}): Promise<CurveBenchResult> {
  const options = { ...DEFAULT_CURVE_BENCH_OPTIONS, ...overrides };
  const startedAt = new Date().toISOString();
  const operations = measureOperations(options);
  const simulator = await startSimulatorProcess();
  try {
    WA_CERT_DETAILS.PUBLIC_KEY = simulator.rootPublicKey;
    const auth = await pairDevice(simulator);
    const stockAvailable = !isNativeCurveInstalled();
    const stock = stockAvailable ? await measureLogins(simulator.wsUrl, auth, options) : notMeasured(options);
    installNativeCurve();
    const native = await measureLogins(simulator.wsUrl, auth, options);
    const logins = { stock, native };
    return {
      name: 'curve',
      startedAt,
      parameters: options,
      operations,
      logins,
      metrics: flatten(operations, logins),
    };
  } finally {
    await simulator.stop();
  }
}

/** `benchmarkCurve` in the shape of bench/benchmark.ts `Benchmark`. */
export const curveBenchmark = {
  name: 'curve',
  async run(options: Record<string, number>) {
    const result = await benchmarkCurve(options);
    return {
      name: result.name,
      startedAt: result.startedAt,
      parameters: { ...result.parameters },
      metrics: result.metrics,
    };
  },
};

function measureOperations(options: CurveBenchOptions): CurveBenchResult['operations'] {
  const signer = Curve.generateKeyPair();
  const message = randomBytes(120);
  const signature = Curve.sign(signer.private, message);
  const fresh = Array.from({ length: Math.min(options.nativeOperations, 500) }, () => {
    const keys = Curve.generateKeyPair();
    return { publicKey: keys.public, signature: Curve.sign(keys.private, message) };
  });
  const peer = Curve.generateKeyPair();
  const prefixedPeer = Buffer.concat([Buffer.from([5]), peer.public]);
  const ed25519 = generateKeyPairSync('ed25519').privateKey;
  const js = options.javascriptOperations;
  const native = options.nativeOperations;
  if (!verifyXEdDSA(signer.public, message, signature)) throw new Error('curve bench: native verify refused');
  let index = 0;
  return {
    verify: {
      curve25519Js: measure(js, () => curveJsVerify(signer.public, message, signature)),
      native: measure(native, () => verifyXEdDSA(signer.public, message, signature)),
      nativeNewKey: measure(fresh.length, () => {
        const item = fresh[index++ % fresh.length];
        if (item) verifyXEdDSA(item.publicKey, message, item.signature);
      }),
    },
    sign: {
      curve25519Js: measure(js, () => curveJs.sign(signer.private, message)),
      ed25519ForReference: measure(native, () => ed25519Sign(null, message, ed25519)),
    },
    sharedKey: {
      curve25519Js: measure(js, () => curveJs.sharedKey(signer.private, peer.public)),
      libsignal: measure(native, () => libsignalCurve.calculateAgreement(prefixedPeer, signer.private)),
      native: measure(native, () => x25519SharedKey(signer.private, peer.public)),
    },
  };
}

function measure(count: number, work: () => unknown): OperationFigures {
  for (let i = 0; i < Math.min(5, count); i += 1) work();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i += 1) work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    opsPerSecond: round((count / wallMs) * 1000, 0),
    cpuMsPerOp: round((used.user + used.system) / 1000 / count, 3),
  };
}

async function measureLogins(
  wsUrl: string,
  auth: AuthenticationState,
  options: CurveBenchOptions,
): Promise<LoginFigures> {
  for (let i = 0; i < options.warmupLogins; i += 1) await login(wsUrl, auth);
  const walls: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < options.logins; i += 1) {
    const started = performance.now();
    await login(wsUrl, auth);
    walls.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  walls.sort((a, b) => a - b);
  return {
    logins: options.logins,
    cpuMsPerLogin: round((used.user + used.system) / 1000 / options.logins, 1),
    wallMsP50: round(walls[Math.floor(walls.length / 2)] ?? Number.NaN, 1),
  };
}

function notMeasured(options: CurveBenchOptions): LoginFigures {
  return { logins: options.logins, cpuMsPerLogin: Number.NaN, wallMsP50: Number.NaN };
}

const silent = pino({ level: 'silent' });

/** One returning login: socket open, then closed. */
async function login(wsUrl: string, auth: AuthenticationState): Promise<void> {
  const socket = connect(wsUrl, auth);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.ev.on('connection.update', ({ connection, lastDisconnect }) => {
        if (connection === 'open') resolve();
        if (connection === 'close') reject(lastDisconnect?.error ?? new Error('connection closed'));
      });
    });
  } finally {
    socket.end(undefined);
  }
}

function connect(wsUrl: string, auth: AuthenticationState) {
  const socket = makeWASocket({
    auth,
    waWebSocketUrl: wsUrl,
    logger: silent,
    markOnlineOnConnect: false,
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
  });
  socket.ev.on('creds.update', (update) => Object.assign(auth.creds, update));
  return socket;
}

interface SimulatorProcess {
  readonly wsUrl: string;
  readonly adminUrl: string;
  readonly rootPublicKey: Buffer<ArrayBuffer>;
  stop(): Promise<void>;
}

async function startSimulatorProcess(): Promise<SimulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/simulator/cli.ts'), '--port', '0'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const fields = new Map<string, string>();
  const lines = createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('curve bench: the simulator did not start in 30 s')),
      30_000,
    );
    child.once('exit', (code) => reject(new Error(`curve bench: the simulator exited (${code})`)));
    lines.on('line', (line) => {
      const match = /^\s*(WebSocket|Admin API|Root key):\s*(\S+)/.exec(line);
      if (match?.[1] && match[2]) fields.set(match[1], match[2]);
      if (fields.size === 3) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    wsUrl: fields.get('WebSocket') ?? '',
    adminUrl: fields.get('Admin API') ?? '',
    rootPublicKey: Buffer.from(fields.get('Root key') ?? '', 'base64'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Links a fresh companion through the admin API: QR from Baileys, scanned by the simulator's phone. */
async function pairDevice(simulator: SimulatorProcess): Promise<AuthenticationState> {
  const phoneNumber = `5511977${String(Date.now() % 1_000_000).padStart(6, '0')}`;
  await admin(simulator, 'POST', '/phones', { phoneNumber });
  const auth = memoryAuthState();
  const socket = connect(simulator.wsUrl, auth);
  const qr = await new Promise<string>((resolve, reject) => {
    socket.ev.on('connection.update', ({ qr: code, connection }) => {
      if (code) resolve(code);
      if (connection === 'close') reject(new Error('curve bench: closed before a QR code'));
    });
  });
  const closed = new Promise<void>((resolve) =>
    socket.ev.on('connection.update', ({ connection }) => connection === 'close' && resolve()),
  );
  await admin(simulator, 'POST', `/phones/${phoneNumber}/scan`, { qr });
  await closed; // 515: restart required, as after every pairing
  socket.end(undefined);
  await login(simulator.wsUrl, auth);
  return auth;
}

async function admin(
  simulator: SimulatorProcess,
  method: string,
  path: string,
  body: unknown,
): Promise<void> {
  const response = await fetch(`${simulator.adminUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`curve bench: ${method} ${path} → ${response.status} ${await response.text()}`);
}

function flatten(
  operations: CurveBenchResult['operations'],
  logins: CurveBenchResult['logins'],
): CurveBenchResult['metrics'] {
  const metrics: CurveBenchResult['metrics'] = [];
  for (const [operation, variants] of Object.entries(operations)) {
    for (const [variant, figures] of Object.entries(variants as Record<string, OperationFigures>)) {
      metrics.push({
        name: `${operation}.${variant}.opsPerSecond`,
        value: figures.opsPerSecond,
        unit: 'ops/s',
      });
      metrics.push({ name: `${operation}.${variant}.cpuPerOp`, value: figures.cpuMsPerOp, unit: 'ms' });
    }
  }
  for (const [phase, figures] of Object.entries(logins)) {
    metrics.push({ name: `login.${phase}.cpuPerLogin`, value: figures.cpuMsPerLogin, unit: 'ms' });
    metrics.push({ name: `login.${phase}.wallP50`, value: figures.wallMsP50, unit: 'ms' });
  }
  return metrics;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
