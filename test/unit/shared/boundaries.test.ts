import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering of docs/architecture.md, held by a test: domain code is pure, and nothing in shared/
// reaches up into the runner, the functions or the infrastructure.
const root = join(import.meta.dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

function importsOf(file: string): string[] {
  const source = readFileSync(join(root, file), 'utf8');
  return [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map(
    (match) => match[1] ?? '',
  );
}

describe('module boundaries', () => {
  it('keeps shared/domain free of AWS, Baileys and our adapters', () => {
    const offending = sourceFiles('shared/domain').flatMap((file) =>
      importsOf(file)
        .filter(
          (target) =>
            !(target.startsWith('./') || target.startsWith('node:') || ['ulid', 'zod'].includes(target)),
        )
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps shared/ independent of functions/, runner/ and infra/', () => {
    const offending = sourceFiles('shared').flatMap((file) =>
      importsOf(file)
        .filter((target) => /(^#(functions|runner|infra)\/)|(\.\.\/(functions|runner|infra)\/)/.test(target))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps use cases on ports, not on AWS adapters', () => {
    const offending = sourceFiles('shared/use-cases').flatMap((file) =>
      importsOf(file)
        .filter((target) => target.includes('@aws-sdk') || target.includes('/aws/'))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });
});
