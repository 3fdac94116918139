// Where the demo finds the running `npm start`: the platform file it wrote in its state directory
// (`.local/platform.json`, or under `LOCAL_STATE_DIR`; infra/local/platform-file.ts) when it is
// there, else the URLs start.ts serves on (its port variables and their defaults) and the operator's
// key start.ts keeps in the state directory (or `ADMIN_API_KEY`, as start.ts reads it).
import { existsSync, readFileSync } from 'node:fs';
import { displayPath, localStateFiles } from '../local-state.ts';
import { type PlatformFile, readPlatformFile } from '../platform-file.ts';

export interface DemoTargets {
  readonly apiUrl: string;
  /** The WhatsApp simulator's admin API. */
  readonly simulatorUrl: string;
  readonly adminKey: string;
  /** A tenant the platform keeps for demos; null: the demo creates a fresh one. */
  readonly demoTenantId: string | null;
  /** The virtual phone `npm start` made, to pair the demo's channel with; null: the demo's own. */
  readonly clinicPhoneNumber: string | null;
  /** Where the URLs came from, for the header of the output. */
  readonly source: string;
}

export class DemoSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoSetupError';
  }
}

export function resolveDemoTargets(env: NodeJS.ProcessEnv, warn: (line: string) => void): DemoTargets {
  const files = localStateFiles(env);
  const shown = displayPath(files.platform);
  const platform = platformFile(files.platform, shown, warn);
  if (platform && !platform.simulatorUrl) {
    throw new DemoSetupError(
      `the running npm start has no simulator admin API (${platform.whatsapp.mode === 'live' ? 'live WhatsApp' : 'a simulator started elsewhere'}): the demo plays its phones through one`,
    );
  }
  const trimSlash = (url: string) => url.replace(/\/+$/, '');
  return {
    apiUrl: platform ? trimSlash(platform.apiUrl) : `http://127.0.0.1:${env.LOCAL_API_PORT ?? '3000'}`,
    simulatorUrl: platform?.simulatorUrl
      ? trimSlash(platform.simulatorUrl)
      : `http://127.0.0.1:${env.LOCAL_SIM_PORT ?? '7000'}`,
    adminKey: adminKey(platform ? platform.adminKeyFile : files.adminKey, env),
    demoTenantId: platform?.demoTenant.id ?? null,
    clinicPhoneNumber: platform?.virtualPhone?.phoneNumber ?? null,
    source: platform ? shown : 'LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults',
  };
}

/** The file `npm start` wrote, or null (said why) when it is missing or not what it writes. */
function platformFile(file: string, shown: string, warn: (line: string) => void): PlatformFile | null {
  if (!existsSync(file)) return null;
  try {
    return readPlatformFile(file);
  } catch (error) {
    const why =
      error instanceof SyntaxError
        ? `is not JSON (${error.message})`
        : `is not what npm start writes (${(error as { issues?: { message: string }[] }).issues?.[0]?.message ?? String(error)})`;
    warn(`${shown} ${why}: using LOCAL_API_PORT/LOCAL_SIM_PORT or their defaults`);
    return null;
  }
}

/** `ADMIN_API_KEY` first, as start.ts reads it; else the file (null: start.ts had it from there too). */
function adminKey(file: string | null, env: NodeJS.ProcessEnv): string {
  if (env.ADMIN_API_KEY) return env.ADMIN_API_KEY;
  if (!file) {
    throw new DemoSetupError(
      'npm start took its admin key from ADMIN_API_KEY: set the same ADMIN_API_KEY for the demo',
    );
  }
  if (!existsSync(file)) {
    throw new DemoSetupError(
      `no admin key: ${displayPath(file)} is missing. Is \`npm start\` running? (it writes the key there)`,
    );
  }
  return readFileSync(file, 'utf8').trim();
}
