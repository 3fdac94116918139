import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The dashboard reaches the platform only through the public API: its browser code imports itself
// and its three libraries, nothing of shared/, functions/ or the rest of the repository.
const source = join(import.meta.dirname, '../../../dashboard/src');
const LIBRARIES = ['preact', 'preact/hooks', 'openapi-fetch', 'qrcode'];

describe("the dashboard's imports", () => {
  it('stay inside dashboard/src, apart from Preact, openapi-fetch and qrcode', () => {
    const files = readdirSync(source, { recursive: true, encoding: 'utf8' }).filter((file) =>
      /\.tsx?$/.test(file),
    );
    expect(files.length).toBeGreaterThan(20);
    const offending = files.flatMap((file) => {
      const text = readFileSync(join(source, file), 'utf8');
      return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)]
        .map((match) => match[1] ?? '')
        .filter((target) => {
          if (LIBRARIES.includes(target)) return false;
          if (!target.startsWith('.')) return true;
          const resolved = relative(source, join(source, file, '..', target));
          return resolved.startsWith('..');
        })
        .map((target) => `${file} imports ${target}`);
    });
    expect(offending).toEqual([]);
  });
});
