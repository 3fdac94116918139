import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';

// The WhatsApp simulator has one public entry, test/simulator/index.ts, imported as
// `#test/simulator`: its other files are its inside and may change with it. This test holds every
// file outside test/simulator/ to that.
const root = join(import.meta.dirname, '../..');
const SIMULATOR_DIR = 'test/simulator';
const ENTRY = '#test/simulator';
const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const NOT_SOURCE_DIRS = new Set(['node_modules', '.venv', '.git', '.local', 'cdk.out']);

/**
 * Files allowed to import the simulator's inside for now, each with why. Keep it empty: a file that
 * needs more than the entry offers gets it exported from the entry instead.
 */
const ALLOWED_FOR_NOW = new Set<string>([]);

function sourceFiles(dir = ''): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return NOT_SOURCE_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return entry.isFile() && SOURCE.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier of a source: static imports and re-exports, side-effect, dynamic and type imports, require, vi.mock. */
function specifiersOf(source: string): string[] {
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\b(?:import|require|mock|doMock|importActual)\s*\(\s*['"]([^'"]+)['"]/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

/** The specifiers of `file` (a path from the repository root) that reach past the simulator's entry. */
function importsPastEntry(file: string, source: string): string[] {
  return specifiersOf(source).filter((specifier) => {
    if (specifier === ENTRY) return false;
    let target: string;
    if (specifier.startsWith('#test/')) target = `test/${specifier.slice('#test/'.length)}`;
    else if (specifier.startsWith('.')) target = posix.join(posix.dirname(file), specifier);
    else return false;
    return target === SIMULATOR_DIR || target.startsWith(`${SIMULATOR_DIR}/`);
  });
}

describe('the simulator entry', () => {
  // This file is left out: its examples below are deep imports on purpose.
  const outside = sourceFiles().filter(
    (file) => !file.startsWith(`${SIMULATOR_DIR}/`) && file !== 'test/unit/simulator-entry.test.ts',
  );

  it('is the only way into test/simulator from outside it', () => {
    const offending = outside
      .filter((file) => !ALLOWED_FOR_NOW.has(file))
      .flatMap((file) =>
        importsPastEntry(file, readFileSync(join(root, file), 'utf8')).map(
          (specifier) => `${file} imports ${specifier} (use '${ENTRY}')`,
        ),
      );
    expect(outside.length).toBeGreaterThan(100);
    expect(offending).toEqual([]);
  });

  it('allows no file that has stopped needing it', () => {
    const stale = [...ALLOWED_FOR_NOW].filter(
      (file) => importsPastEntry(file, readFileSync(join(root, file), 'utf8')).length === 0,
    );
    expect(stale).toEqual([]);
  });

  it('sees each form of import that reaches past the entry', () => {
    const source = [
      "import { startSimulator } from '#test/simulator';",
      "import { type Simulator } from '#test/simulator/simulator.ts';",
      'import {\n  deviceKey,\n} from "../../test/simulator/offline-queue.ts";',
      "export { eventually } from '#test/simulator/test-client.ts';",
      "import '#test/simulator/cli.ts';",
      "const phone = await import('../../test/simulator/virtual-phone.ts');",
      "type Phone = import('#test/simulator/virtual-phone.ts').VirtualPhone;",
      "import { other } from '#test/simulator-tools/x.ts';",
      "import { reached } from '../simulator/index.ts';",
    ].join('\n');
    expect(importsPastEntry('bench/runner/seed.ts', source)).toEqual([
      '#test/simulator/simulator.ts',
      '../../test/simulator/offline-queue.ts',
      '#test/simulator/test-client.ts',
      '#test/simulator/cli.ts',
      '../../test/simulator/virtual-phone.ts',
      '#test/simulator/virtual-phone.ts',
    ]);
    // A path to the index is still a path into the folder: the entry is the import map's name.
    expect(importsPastEntry('test/support/x.ts', "import { a } from '../simulator/index.ts';")).toEqual([
      '../simulator/index.ts',
    ]);
  });

  it('resolves to test/simulator/index.ts and exports the public surface only', async () => {
    const imports = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).imports;
    expect(imports[ENTRY]).toBe('./test/simulator/index.ts');
    // Values only: the types it exports are checked by tsc wherever they are used.
    expect(Object.keys(await import('#test/simulator')).sort()).toEqual([
      'PhoneError',
      'TestCompanion',
      'VirtualPhone',
      'deviceKey',
      'eventually',
      'memoryAuthState',
      'provisionCompanion',
      'startSimulator',
    ]);
  });
});
