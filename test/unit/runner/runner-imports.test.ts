// The runner's process must not load the X-Ray SDK: its async hooks make every promise about ten
// times dearer (shared/tracing.ts). Imported in a fresh process, since this one may have loaded it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function modulesLoadedBy(entry: string): string[] {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const require = createRequire(import.meta.url);
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));
  `;
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(output) as string[];
}

describe('the runner process', () => {
  it('loads neither the Powertools tracer nor the X-Ray SDK', () => {
    const loaded = modulesLoadedBy('./runner/main.ts');
    // libsignal is CommonJS, loaded through Baileys: proof the cache saw the runner's graph.
    expect(loaded.some((path) => path.includes('libsignal'))).toBe(true);
    expect(loaded.filter((path) => /aws-xray-sdk|powertools\/tracer/.test(path))).toEqual([]);
  });

  it('would notice if it did', () => {
    const loaded = modulesLoadedBy('./shared/tracing.ts');
    expect(loaded.some((path) => path.includes('aws-xray-sdk-core'))).toBe(true);
  });
});
