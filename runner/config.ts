import { hostname } from 'node:os';
import { z } from 'zod';
import { type Environment, readConfig, refuseInsideEcs, runnerClusterName } from '#shared/config.ts';
import { DEFAULT_LINK_FETCH_POLICY } from './messages/link-fetcher.ts';

/** Where the runner's sockets go: our simulator (trusting its root key and media CA) or WhatsApp. */
export type WhatsAppConnection =
  | {
      readonly mode: 'simulator';
      readonly webSocketUrl: string;
      readonly trustRoot: string;
      readonly mediaCaPem?: string;
    }
  | { readonly mode: 'live' };

const runnerConfigSchema = z
  .object({
    RUNNER_ID: z.string().min(1).optional(),
    RUNNER_CLUSTER: runnerClusterName,
    LEASE_TTL_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
    MAX_CONCURRENT_CONNECTS: z.coerce.number().int().min(1).max(500).default(20),
    /** How soon a crashed runner's commands come back; commands in hand are extended meanwhile. */
    COMMAND_VISIBILITY_TIMEOUT_SECONDS: z.coerce.number().int().min(3).max(43_200).default(30),
    HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /**
     * The largest received file kept (bytes; larger ones are recorded with `mediaError: too_large`).
     * Every tenant's until tenant settings can lower or raise it. Default: WhatsApp's document limit.
     */
    INBOUND_MEDIA_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(100 * 1024 * 1024),
    /** The largest file a send's `link` may name (bytes); it is held in memory while it is sent. */
    LINK_FETCH_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(16 * 1024 * 1024),
    /**
     * Comma-separated host names a media link may name although they resolve to private addresses
     * (an on-premises file server). Empty: links reach public addresses only.
     */
    LINK_FETCH_PRIVATE_HOSTS: z.string().default(''),
    /** Received files downloaded at once; each holds up to two 5 MiB upload parts in memory. */
    MAX_CONCURRENT_MEDIA_DOWNLOADS: z.coerce.number().int().min(1).max(64).default(4),
    /**
     * Session-state transactions in flight at once; unset on AWS. moto answers concurrent
     * TransactWriteItems with HTTP 500s, so local runs set it to 1.
     */
    SESSION_TRANSACTION_CONCURRENCY: z.coerce.number().int().min(1).optional(),
    /** `simulator`: our WhatsApp simulator, trusting its root key; `live`: WhatsApp itself. */
    WA_MODE: z.enum(['simulator', 'live']).default('simulator'),
    WA_WEBSOCKET_URL: z.url().optional(),
    /** Base64 Curve25519 public key of the simulator's certificate root (its `GET /trust`). */
    WA_TRUST_ROOT: z.string().min(1).optional(),
    /** PEM of the CA the simulator's media upload host uses (its `GET /trust` `mediaCaPem`). */
    WA_MEDIA_CA_PEM: z.string().includes('BEGIN CERTIFICATE').optional(),
    /**
     * Local development only (`npm start -- --whatsapp live`): each channel's QR is also drawn on
     * stdout, to scan with a phone. Refused in an ECS task: the QR is a pairing secret, never logged.
     */
    PRINT_QR_TO_TERMINAL: z.enum(['true', 'false']).default('false'),
    AWS_EXECUTION_ENV: z.string().optional(),
    ECS_CONTAINER_METADATA_URI_V4: z.string().optional(),
  })
  .superRefine((env, context) => {
    if (env.PRINT_QR_TO_TERMINAL === 'true') refuseInsideEcs(env, 'PRINT_QR_TO_TERMINAL', context);
    if (env.WA_MODE === 'simulator') {
      for (const name of ['WA_WEBSOCKET_URL', 'WA_TRUST_ROOT'] as const) {
        if (!env[name])
          context.addIssue({ code: 'custom', path: [name], message: 'is required when WA_MODE=simulator' });
      }
    }
  })
  .transform((env) => ({
    runnerId: env.RUNNER_ID ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    cluster: env.RUNNER_CLUSTER,
    leaseTtlMs: env.LEASE_TTL_SECONDS * 1000,
    maxConcurrentConnects: env.MAX_CONCURRENT_CONNECTS,
    commandVisibilityTimeoutSeconds: env.COMMAND_VISIBILITY_TIMEOUT_SECONDS,
    healthPort: env.HEALTH_PORT,
    inboundMediaMaxBytes: env.INBOUND_MEDIA_MAX_BYTES,
    maxConcurrentMediaDownloads: env.MAX_CONCURRENT_MEDIA_DOWNLOADS,
    linkFetch: {
      ...DEFAULT_LINK_FETCH_POLICY,
      maxBytes: env.LINK_FETCH_MAX_BYTES,
      privateHostsAllowed: new Set(
        env.LINK_FETCH_PRIVATE_HOSTS.split(',')
          .map((host) => host.trim().toLowerCase())
          .filter(Boolean),
      ),
    },
    sessionTransactionConcurrency: env.SESSION_TRANSACTION_CONCURRENCY,
    whatsapp: whatsAppConnection(env),
    printQrToTerminal: env.PRINT_QR_TO_TERMINAL === 'true',
  }));

export type RunnerConfig = z.output<typeof runnerConfigSchema>;

function whatsAppConnection(env: {
  WA_MODE: 'simulator' | 'live';
  WA_WEBSOCKET_URL?: string | undefined;
  WA_TRUST_ROOT?: string | undefined;
  WA_MEDIA_CA_PEM?: string | undefined;
}): WhatsAppConnection {
  if (env.WA_MODE === 'live') return { mode: 'live' };
  return {
    mode: 'simulator',
    webSocketUrl: env.WA_WEBSOCKET_URL ?? '',
    trustRoot: env.WA_TRUST_ROOT ?? '',
    ...(env.WA_MEDIA_CA_PEM ? { mediaCaPem: env.WA_MEDIA_CA_PEM } : {}),
  };
}

export const loadRunnerConfig = (env?: Environment): RunnerConfig => readConfig(runnerConfigSchema, env);
