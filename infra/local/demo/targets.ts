// Where the demo finds the running `npm start`: what the platform wrote in `.local/platform.json`
// when it is there, else the URLs start.ts serves on (its port variables and their defaults), and
// the operator's key start.ts keeps in `.local/admin-key` (or `ADMIN_API_KEY`, as start.ts reads it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export interface DemoTargets {
  readonly apiUrl: string;
  /** The WhatsApp simulator's admin API. */
  readonly simulatorUrl: string;
  readonly adminKey: string;
  /** A tenant the platform keeps for demos; null: the demo creates a fresh one. */
  readonly demoTenantId: string | null;
  /** Where the URLs came from, for the header of the output. */
  readonly source: string;
}

/** The part of `.local/platform.json` the demo reads; the file may hold more. */
const platformFileSchema = z.object({
  apiUrl: z.url().optional(),
  simulatorUrl: z.url().optional(),
  demoTenant: z.object({ id: z.string().min(1) }).optional(),
});

export class DemoSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoSetupError';
  }
}

export function resolveDemoTargets(
  root: string,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): DemoTargets {
  const local = join(root, '.local');
  const platform = readPlatformFile(join(local, 'platform.json'), warn);
  const trimSlash = (url: string) => url.replace(/\/+$/, '');
  const apiUrl = platform?.apiUrl
    ? trimSlash(platform.apiUrl)
    : `http://127.0.0.1:${env.LOCAL_API_PORT ?? '3000'}`;
  const simulatorUrl = platform?.simulatorUrl
    ? trimSlash(platform.simulatorUrl)
    : `http://127.0.0.1:${env.LOCAL_SIM_PORT ?? '7000'}`;
  return {
    apiUrl,
    simulatorUrl,
    adminKey: adminKey(join(local, 'admin-key'), env),
    demoTenantId: platform?.demoTenant?.id ?? null,
    source: platform ? '.local/platform.json' : 'LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults',
  };
}

function readPlatformFile(file: string, warn: (line: string) => void) {
  if (!existsSync(file)) return null;
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    warn(`.local/platform.json is not JSON (${(error as Error).message}): using the default URLs`);
    return null;
  }
  const parsed = platformFileSchema.safeParse(content);
  if (!parsed.success) {
    warn(
      `.local/platform.json has no URLs the demo knows (${parsed.error.issues[0]?.message}): using the defaults`,
    );
    return null;
  }
  return parsed.data;
}

function adminKey(file: string, env: NodeJS.ProcessEnv): string {
  if (env.ADMIN_API_KEY) return env.ADMIN_API_KEY;
  if (!existsSync(file)) {
    throw new DemoSetupError(
      `no admin key: ${file} is missing. Is \`npm start\` running? (it writes the key there)`,
    );
  }
  return readFileSync(file, 'utf8').trim();
}
