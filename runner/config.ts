import { hostname } from 'node:os';
import { z } from 'zod';
import { type Environment, readConfig } from '#shared/config.ts';

const runnerConfigSchema = z
  .object({
    RUNNER_ID: z.string().min(1).optional(),
    RUNNER_CLUSTER: z
      .string()
      .regex(/^[\w-]+$/)
      .default('main'),
    LEASE_TTL_SECONDS: z.coerce.number().int().min(5).max(300).default(30),
    MAX_CONCURRENT_CONNECTS: z.coerce.number().int().min(1).max(500).default(20),
    HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /** `simulator`: our WhatsApp simulator, trusting its root key; `live`: WhatsApp itself. */
    WA_MODE: z.enum(['simulator', 'live']).default('simulator'),
    WA_WEBSOCKET_URL: z.url().optional(),
    /** Base64 Curve25519 public key of the simulator's certificate root (its `GET /trust`). */
    WA_TRUST_ROOT: z.string().min(1).optional(),
  })
  .superRefine((env, context) => {
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
    healthPort: env.HEALTH_PORT,
    whatsapp:
      env.WA_MODE === 'simulator'
        ? {
            mode: 'simulator' as const,
            webSocketUrl: env.WA_WEBSOCKET_URL as string,
            trustRoot: env.WA_TRUST_ROOT as string,
          }
        : { mode: 'live' as const },
  }));

export type RunnerConfig = z.output<typeof runnerConfigSchema>;
export type WhatsAppConnection = RunnerConfig['whatsapp'];

export const loadRunnerConfig = (env?: Environment): RunnerConfig => readConfig(runnerConfigSchema, env);
