// The runner's Dockerfile is never built here (no Docker daemon): these check what can be checked
// without one, including that its health probe really tells a healthy runner from an unhealthy one.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_PROBE } from '#infra/constructs/runner-service.construct.ts';
import { RUNNER_NODE_IMAGE } from '#infra/node-version.ts';
import { RUNNER_DOCKERFILE, RUNNER_IMAGE_CONTEXT } from '#infra/runner-stack.ts';
import { startHealthServer } from '#runner/health.ts';

const dockerfile = readFileSync(join(RUNNER_IMAGE_CONTEXT, RUNNER_DOCKERFILE), 'utf8')
  .replace(/\\\n\s*/g, '')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));
const instructions = (name: string) =>
  dockerfile.filter((line) => line.startsWith(`${name} `)).map((line) => line.slice(name.length + 1));
/** The JSON (exec) form after an instruction's options. */
const execForm = (argument: string) => JSON.parse(argument.slice(argument.indexOf('['))) as string[];

describe('runner/Dockerfile', () => {
  it('builds on the project’s Node in two stages and runs runner/main.ts through tsx as the unprivileged user', () => {
    expect(dockerfile).toContain(`ARG NODE_IMAGE=${RUNNER_NODE_IMAGE}`);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own variable syntax
    expect(instructions('FROM')).toEqual(['${NODE_IMAGE} AS dependencies', '${NODE_IMAGE}']);
    expect(instructions('RUN')).toEqual([expect.stringMatching(/^npm ci --omit=dev /)]);
    expect(instructions('USER')).toEqual(['node']);
    expect(instructions('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(instructions('CMD').map(execForm)).toEqual([['node', '--import', 'tsx', 'runner/main.ts']]);
  });

  it('applies the Baileys patch in its production install (the runner refuses to start without it)', () => {
    const manifest = JSON.parse(readFileSync(join(RUNNER_IMAGE_CONTEXT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.postinstall).toBe('patch-package');
    expect(manifest.dependencies['patch-package']).toBeDefined();
    const patches = readdirSync(join(RUNNER_IMAGE_CONTEXT, 'patches'));
    expect(patches).toContain(
      `@whiskeysockets+baileys+${manifest.dependencies['@whiskeysockets/baileys']}.patch`,
    );
    const installAt = dockerfile.findIndex((line) => line.startsWith('RUN npm ci'));
    const patchesAt = dockerfile.indexOf('COPY patches ./patches');
    expect(patchesAt).toBeGreaterThan(-1);
    expect(patchesAt).toBeLessThan(installAt);
    const ignored = readFileSync(join(RUNNER_IMAGE_CONTEXT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toContain('!patches');
  });

  it('checks health with the same probe as the task definition', () => {
    const [healthcheck] = instructions('HEALTHCHECK');
    expect(healthcheck).toMatch(/^--interval=30s --timeout=5s --start-period=60s --retries=3 CMD \[/);
    expect(execForm(healthcheck ?? '')).toEqual(['node', '-e', HEALTH_PROBE]);
  });

  it('gets every package the runner imports from the production dependencies (the image omits dev ones)', () => {
    const { dependencies } = JSON.parse(readFileSync(join(RUNNER_IMAGE_CONTEXT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(dependencies.tsx).toBeDefined();
    const sources = ['runner', 'shared'].flatMap((dir) =>
      readdirSync(join(RUNNER_IMAGE_CONTEXT, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => readFileSync(join(RUNNER_IMAGE_CONTEXT, dir, file), 'utf8')),
    );
    const imported = new Set(
      sources.flatMap((source) =>
        [...source.matchAll(/^import (?!type )[^;]*?from '([^'.#][^']*)'/gms)]
          .map((match) => match[1] ?? '')
          .filter((specifier) => !specifier.startsWith('node:'))
          .map((specifier) =>
            specifier
              .split('/')
              .slice(0, specifier.startsWith('@') ? 2 : 1)
              .join('/'),
          ),
      ),
    );
    expect(imported.size).toBeGreaterThan(3);
    expect([...imported].filter((name) => !(name in dependencies))).toEqual([]);
  });
});

describe('the health probe', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  /** Runs the probe as the container would, with HEALTH_PORT set; resolves to its exit code. */
  function probe(port: number): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', HEALTH_PROBE], {
        env: { ...process.env, HEALTH_PORT: String(port) },
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
  }

  async function serve(healthy: boolean): Promise<number> {
    const server = await startHealthServer(0, () => ({ healthy }));
    close = server.close;
    return Number(new URL(server.url).port);
  }

  it('exits 0 when /healthz answers 200', async () => {
    expect(await probe(await serve(true))).toBe(0);
  });

  it('exits 1 when /healthz answers 503 (a stopping runner)', async () => {
    expect(await probe(await serve(false))).toBe(1);
  });

  it('exits 1 when nothing listens', async () => {
    const port = await serve(true);
    await close?.();
    close = undefined;
    expect(await probe(port)).toBe(1);
  });
});
