// What `npm start` keeps across restarts, and where: one directory, `.local/` at the repository root
// or `LOCAL_STATE_DIR` (a test runs the platform on a directory of its own, beside a developer's).
// In it: moto's state (tables, queues and their messages, the KMS key material, buckets, the event
// bus; infra/local/moto_state.py), the WhatsApp simulator's phones, the admin key, the demo tenant,
// and what one start wrote for people and scripts. `--fresh` (or `LOCAL_FRESH=true`) forgets the
// data and keeps the configuration. A local development directory: the files with keys are mode 600.
import { chmodSync, closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalStateFiles {
  readonly dir: string;
  /** moto's saved backends (a pickle behind a JSON header line; moto_state.py). */
  readonly awsState: string;
  /** The WhatsApp simulator's snapshot: phones, paired companions, media. */
  readonly simulatorSnapshot: string;
  /** The operator's key for this machine (mode 600). */
  readonly adminKey: string;
  /** The demo tenant and its key, reused while the API still knows them (mode 600). */
  readonly demoTenant: string;
  /** `export …` lines for your shell: `source .local/local-aws.env`. */
  readonly awsEnv: string;
  /** What scripts (`npm run demo`) read: URLs, the demo tenant, the virtual phone (mode 600). */
  readonly platform: string;
  /** Everything one start did: resources, environment, each part's details, a failure's stack. */
  readonly startDetails: string;
}

export function localStateFiles(
  env: Readonly<Record<string, string | undefined>> = process.env,
  root: string = projectRoot,
): LocalStateFiles {
  const dir = resolve(env.LOCAL_STATE_DIR || join(root, '.local'));
  return {
    dir,
    awsState: join(dir, 'aws-state.pickle'),
    simulatorSnapshot: join(dir, 'simulator-state.json'),
    adminKey: join(dir, 'admin-key'),
    demoTenant: join(dir, 'demo-tenant.json'),
    awsEnv: join(dir, 'local-aws.env'),
    platform: join(dir, 'platform.json'),
    startDetails: join(dir, 'start-details.txt'),
  };
}

/**
 * Forgets the platform's data: moto's state, the simulator's phones (a phone still linked to a
 * companion the platform forgot would only confuse) and the demo tenant it named. The admin key
 * stays: it is configuration. Returns the files it removed.
 */
export function clearSavedState(files: LocalStateFiles): string[] {
  const removed: string[] = [];
  for (const file of [files.awsState, files.simulatorSnapshot, files.demoTenant]) {
    try {
      rmSync(file);
      removed.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

const SavedAwsState = z.object({
  savedAt: z.string(),
  moto: z.string(),
  /** `service/account/region` of every backend saved. */
  backends: z.array(z.string()),
});
export type SavedAwsState = z.infer<typeof SavedAwsState>;

/** The header line of moto's saved state, or undefined when there is none. */
export function readSavedAwsState(file: string): SavedAwsState | undefined {
  let descriptor: number;
  try {
    descriptor = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const length = readSync(descriptor, buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, length).indexOf(0x0a);
    if (end < 0) throw new Error(`${file} has no header line: not a saved state`);
    const header = SavedAwsState.safeParse(JSON.parse(buffer.subarray(0, end).toString('utf8')));
    if (!header.success) throw new Error(`${file} has no valid header: not a saved state`);
    return header.data;
  } finally {
    closeSync(descriptor);
  }
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
