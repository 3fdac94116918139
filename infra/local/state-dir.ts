// Where the local platform keeps what outlives one `npm start`: `.local/` at the repository root, or
// `LOCAL_STATE_DIR` (a test runs the platform on a copy, beside a developer's own).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalStateFiles {
  readonly dir: string;
  /** `export …` lines for your shell: `source .local/local-aws.env`. */
  readonly awsEnv: string;
  /** The operator's key for this machine. */
  readonly adminKey: string;
  /** The demo tenant and its key, reused while the API still knows them (mode 600). */
  readonly demoTenant: string;
  /** What scripts (`npm run demo`) read: URLs, the demo tenant, the virtual phone (mode 600). */
  readonly platform: string;
  /** Everything one start did: resources, environment, each part's details, a failure's stack. */
  readonly startDetails: string;
  /** The WhatsApp simulator's state: paired channels survive a restart. */
  readonly simulatorSnapshot: string;
}

export function localStateFiles(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalStateFiles {
  const dir = env.LOCAL_STATE_DIR ? resolve(env.LOCAL_STATE_DIR) : join(root, '.local');
  return {
    dir,
    awsEnv: join(dir, 'local-aws.env'),
    adminKey: join(dir, 'admin-key'),
    demoTenant: join(dir, 'demo-tenant.json'),
    platform: join(dir, 'platform.json'),
    startDetails: join(dir, 'start-details.txt'),
    simulatorSnapshot: join(dir, 'simulator-state.json'),
  };
}

/** A path as a person in the repository would type it (`.local/admin-key`), else absolute. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const relativePath = relative(cwd, path);
  return relativePath && !relativePath.startsWith('..') && !isAbsolute(relativePath) ? relativePath : path;
}

/** A file only its owner reads (a key is in it), however it was left before. */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o600 });
  // `mode` applies only when the file is created.
  chmodSync(path, 0o600);
}
