// What `npm start` keeps across restarts, and where: moto's state (tables, queues and their
// messages, the KMS key material, buckets, the event bus; infra/local/moto_state.py), the WhatsApp
// simulator's phones, the admin key and the environment file. `LOCAL_FRESH=true` starts from empty
// state. A local development directory: the files hold keys, and are written mode 600.
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export interface LocalState {
  readonly directory: string;
  /** moto's saved backends (a pickle behind a JSON header line; moto_state.py). */
  readonly awsStateFile: string;
  readonly simulatorStateFile: string;
  readonly adminKeyFile: string;
  readonly envFile: string;
  /** Remove the saved AWS and simulator state before starting (`LOCAL_FRESH=true`). */
  readonly fresh: boolean;
}

/** `LOCAL_STATE_DIR` (default `<project>/.local`) and `LOCAL_FRESH` (`true`/`1`, `false`/`0`). */
export function localStateFromEnvironment(
  projectRoot: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalState {
  const directory = resolve(env.LOCAL_STATE_DIR || join(projectRoot, '.local'));
  const flag = (env.LOCAL_FRESH ?? '').toLowerCase();
  if (!['', 'true', '1', 'false', '0'].includes(flag)) {
    throw new Error(`LOCAL_FRESH must be true or false, got ${env.LOCAL_FRESH}`);
  }
  return {
    directory,
    awsStateFile: join(directory, 'aws-state.pickle'),
    simulatorStateFile: join(directory, 'simulator-state.json'),
    adminKeyFile: join(directory, 'admin-key'),
    envFile: join(directory, 'local-aws.env'),
    fresh: flag === 'true' || flag === '1',
  };
}

/**
 * Forgets the platform's data: moto's state and the simulator's phones (a phone still linked to a
 * companion the platform forgot would only confuse). The admin key stays: it is configuration.
 */
export function clearSavedState(state: LocalState): string[] {
  const removed: string[] = [];
  for (const file of [state.awsStateFile, state.simulatorStateFile]) {
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
