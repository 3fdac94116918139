import { vi } from 'vitest';

/**
 * Everything the process writes to stdout and stderr from now until `restore()`, kept instead of
 * written: what the logger (and anything else) would have printed.
 */
export function captureOutput() {
  const written: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return true;
    }),
  );
  return {
    text: () => written.join(''),
    /** The JSON log lines written so far. */
    entries: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
