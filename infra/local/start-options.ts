// `npm start`'s command line: what it takes, what it refuses (exit 2) and its --help. Pure, so the
// parsing is tested without starting anything; start.ts reads files and ports from the result.
import { parseArgs } from 'node:util';

/** Where the runners' sockets go. */
export type WhatsAppTarget =
  /** Our simulator, started by `npm start`. */
  | { readonly kind: 'simulator' }
  /** A simulator already running elsewhere (its `GET /trust` gives the root key and media CA). */
  | {
      readonly kind: 'external';
      readonly webSocketUrl: string;
      /** Base64 Curve25519 public key of its certificate root. */
      readonly trustRoot: string;
      /** A file holding the PEM of its media upload host's CA, when given. */
      readonly mediaCaFile?: string;
    }
  /** WhatsApp itself: no simulator, and each channel's QR drawn in the terminal. */
  | { readonly kind: 'live' };

export interface StartOptions {
  readonly help: boolean;
  readonly verbose: boolean;
  /** Forget the saved state before starting (`--fresh`, or `LOCAL_FRESH=true`). */
  readonly fresh: boolean;
  readonly runners: number;
  readonly whatsapp: WhatsAppTarget;
}

/** Past this many the local machine only pays for idle processes (the local stack has 16 shards). */
export const MAX_RUNNERS = 8;

/**
 * moto's port unless `LOCAL_AWS_PORT` says otherwise: fixed, so a restart serves the restored queues
 * at the same URLs (moto builds them from the request's host) and a shell that sourced
 * `.local/local-aws.env` keeps reaching it. LocalStack's port: the two are not meant to run together.
 */
export const DEFAULT_AWS_PORT = 4566;

/** A wrong command line: its message is meant for the terminal as it is. */
export class StartOptionsError extends Error {
  override readonly name = 'StartOptionsError';
}

export const START_HELP = `Usage: npm start [-- <options>]

Starts the platform on this machine: local AWS (moto), the WhatsApp simulator, the runners, the
HTTPS API, the queue consumers and the dashboard, then a demo tenant and a virtual phone. Ctrl-C
stops it; what it stored is saved in .local/ and restored by the next start (paired channels open
again without a new scan).

Options:
  -v, --verbose              also print every resource of the stack and the environment exports
                             (always written to .local/start-details.txt)
  --fresh                    start from empty state: forget the saved AWS state (tables, queues,
                             keys, media), the simulator's phones and the demo tenant; the admin
                             key stays (the same as LOCAL_FRESH=true)
  --runners <n>              runner processes to start, 1–${MAX_RUNNERS} (default 1); they split the
                             shards between them through their leases
  --whatsapp <ws-url>        point the runners at a WhatsApp simulator already running there
                             (e.g. ws://127.0.0.1:7780/ws/chat) instead of starting ours
    --trust <base64>         required with a ws-url: the simulator's root public key
                             (its GET /trust → rootPublicKey)
    --media-ca <pem-file>    optional: its media upload host's CA (GET /trust → mediaCaPem);
                             by default taken from its GET /trust when that answers, else the
                             runners cannot send media through it (the host is self-signed)
  --whatsapp live            point the runners at WhatsApp itself: no simulator, no virtual phone;
                             each channel's QR is drawn in this terminal to scan with your phone
  -h, --help                 print this and exit

Environment: LOCAL_AWS_PORT (moto, ${DEFAULT_AWS_PORT}), LOCAL_SIM_PORT (7000),
LOCAL_RUNNER_HEALTH_PORT (8081; runner n uses it + n − 1), LOCAL_API_PORT (3000),
LOCAL_DASHBOARD_PORT (8090), LOCAL_STATE_DIR (.local), LOCAL_FRESH (false),
LOG_LEVEL of the processes (WARN).
`;

/** The root key is a Curve25519 public key: 32 bytes. */
const ROOT_KEY_BYTES = 32;

/** `env` holds what the environment says of the same choices: `LOCAL_FRESH`. */
export function parseStartOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): StartOptions {
  const { values } = parseCommandLine(argv);
  const runners = parseRunners(values.runners);
  const freshFromEnvironment = parseFreshVariable(env.LOCAL_FRESH);
  return {
    help: values.help ?? false,
    verbose: values.verbose ?? false,
    fresh: (values.fresh ?? false) || freshFromEnvironment,
    runners,
    whatsapp: parseWhatsApp(values.whatsapp, values.trust, values['media-ca']),
  };
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        verbose: { type: 'boolean', short: 'v' },
        fresh: { type: 'boolean' },
        runners: { type: 'string' },
        whatsapp: { type: 'string' },
        trust: { type: 'string' },
        'media-ca': { type: 'string' },
      },
    });
  } catch (error) {
    throw new StartOptionsError(describeParseError(error));
  }
}

/** parseArgs' own messages suggest `--` tricks that do not apply here; say what is wrong instead. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? message;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}' (options start with --)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
      return message.includes('does not take an argument')
        ? `${option} takes no value`
        : `${option} needs a value`;
    }
    default:
      return message;
  }
}

/** `true`/`1` or `false`/`0` (any case), unset or empty meaning false. */
function parseFreshVariable(raw: string | undefined): boolean {
  const value = (raw ?? '').toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === '' || value === 'false' || value === '0') return false;
  throw new StartOptionsError(`LOCAL_FRESH must be true or false, got '${raw}'`);
}

function parseRunners(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const runners = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(runners >= 1 && runners <= MAX_RUNNERS)) {
    throw new StartOptionsError(`--runners must be a whole number from 1 to ${MAX_RUNNERS}, got '${raw}'`);
  }
  return runners;
}

function parseWhatsApp(
  target: string | undefined,
  trust: string | undefined,
  mediaCaFile: string | undefined,
): WhatsAppTarget {
  if (target === undefined || target === 'live') {
    const stray = trust !== undefined ? '--trust' : mediaCaFile !== undefined ? '--media-ca' : undefined;
    if (stray) {
      throw new StartOptionsError(
        `${stray} goes with --whatsapp <ws-url> (the simulator it describes)${target === 'live' ? ', not with --whatsapp live' : ''}`,
      );
    }
    return target === 'live' ? { kind: 'live' } : { kind: 'simulator' };
  }
  if (!isWebSocketUrl(target)) {
    throw new StartOptionsError(
      `--whatsapp takes 'live' or a simulator's WebSocket URL (ws://host:port/ws/chat), got '${target}'`,
    );
  }
  if (trust === undefined) {
    throw new StartOptionsError(
      `--whatsapp ${target} needs --trust <base64>: the simulator's root public key (its GET /trust → rootPublicKey)`,
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trust) || Buffer.from(trust, 'base64').length !== ROOT_KEY_BYTES) {
    throw new StartOptionsError(
      `--trust must be the base64 of a ${ROOT_KEY_BYTES}-byte public key (GET /trust → rootPublicKey)`,
    );
  }
  return {
    kind: 'external',
    webSocketUrl: target,
    trustRoot: trust,
    ...(mediaCaFile !== undefined ? { mediaCaFile } : {}),
  };
}

function isWebSocketUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

/**
 * Where our simulators serve their admin API: the WebSocket's host and port over HTTP
 * (test/simulator/README.md). Another server at that URL may have none; callers treat it as a guess.
 */
export function simulatorAdminUrl(webSocketUrl: string): string {
  const url = new URL(webSocketUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}
