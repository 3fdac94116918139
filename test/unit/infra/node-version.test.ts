// One Node version everywhere: the pinned `node` package is the source; every other place that names
// a version (the process running the tests, `engines`, the runner image, Lambda) is held to it here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LAMBDA_NODE_RUNTIME,
  PROJECT_NODE_MAJOR,
  PROJECT_NODE_VERSION,
  pinnedNodeVersion,
  RUNNER_NODE_IMAGE,
} from '#infra/node-version.ts';

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  engines: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

describe('the project’s Node version', () => {
  it('is the one these tests run on', () => {
    expect(process.version).toBe(`v${PROJECT_NODE_VERSION}`);
    expect(PROJECT_NODE_MAJOR).toBe(24);
  });

  it('is what `engines` asks for, and its binary’s install script is approved explicitly', () => {
    expect(manifest.engines.node).toBe(PROJECT_NODE_VERSION);
    expect(manifest.allowScripts.node).toBe(true);
  });

  it('names the runner image and the Lambda runtime', () => {
    expect(RUNNER_NODE_IMAGE).toBe(`node:${PROJECT_NODE_VERSION}-bookworm-slim`);
    expect(LAMBDA_NODE_RUNTIME.name).toBe(`nodejs${PROJECT_NODE_MAJOR}.x`);
  });

  it('must be an exact version', () => {
    expect(() => pinnedNodeVersion({ devDependencies: { node: '^24.21.0' } })).toThrow(/exact version/);
    expect(() => pinnedNodeVersion({})).toThrow(/found none/);
    expect(pinnedNodeVersion({ devDependencies: { node: '24.1.2' } })).toBe('24.1.2');
  });
});
