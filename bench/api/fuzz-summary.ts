// The OpenAPI fuzzer's results, when they are there: bench/results/api-fuzz.json is written by another
// tool, so the API benchmark reports what it finds and never fails for its absence or its shape.
// The summary is the file's `summary` object when it has one, else its top-level plain values.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export type FuzzSummary =
  | {
      readonly file: string;
      readonly modifiedAt: string;
      readonly summary: Record<string, string | number | boolean | null>;
    }
  | { readonly file: string; readonly error: string };

const isPlain = (value: unknown): value is string | number | boolean | null =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** `file` is relative to `root` (the repository), and recorded so. */
export async function readFuzzSummary(root: string, file: string): Promise<FuzzSummary | undefined> {
  let text: string;
  let modifiedAt: string;
  try {
    [text, modifiedAt] = await Promise.all([
      readFile(join(root, file), 'utf8'),
      stat(join(root, file)).then((stats) => stats.mtime.toISOString()),
    ]);
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const source =
      parsed.summary && typeof parsed.summary === 'object'
        ? (parsed.summary as Record<string, unknown>)
        : parsed;
    const summary = Object.fromEntries(
      Object.entries(source).filter(([, value]) => isPlain(value)),
    ) as Record<string, string | number | boolean | null>;
    return { file, modifiedAt, summary };
  } catch (error) {
    return { file, error: `unreadable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function printFuzzSummary(fuzz: FuzzSummary | undefined, file: string): void {
  if (!fuzz) {
    console.log(`\n  fuzz: no ${file} (the OpenAPI fuzzer has not run here)`);
    return;
  }
  if ('error' in fuzz) {
    console.log(`\n  fuzz: ${file} ${fuzz.error}`);
    return;
  }
  console.log(`\n  fuzz (${file}, written ${fuzz.modifiedAt}):`);
  const width = Math.max(0, ...Object.keys(fuzz.summary).map((key) => key.length));
  for (const [key, value] of Object.entries(fuzz.summary)) console.log(`    ${key.padEnd(width)}  ${value}`);
}
