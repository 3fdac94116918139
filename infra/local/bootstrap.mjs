#!/usr/bin/env node
// The one entry point behind `npm start`, `npm test`, `npm run bench`, `npm run sim`,
// `npm run fuzz:api`, `npm run dead-letters` and `npm run demo`.
// Plain JavaScript with no dependencies, because it runs before anything is installed, on whatever
// Node started it (20+): it installs the npm packages (when the lockfile changed), then re-executes
// itself on the project's own Node (the exact `node` package pinned in package.json, a binary from
// the npm registry), installs the moto virtualenv (when a command needs AWS) and hands over to the
// command's entry point. Everything after the install runs on that one Node version.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..', '..');
const [command = 'test', ...args] = process.argv.slice(2);

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pinnedNode = manifest.devDependencies?.node;
/** The `node` package's binary (node_modules/.bin/node links to it). */
const projectNode = join(root, 'node_modules/node/bin/node');
const binDir = join(root, 'node_modules/.bin');

const commands = {
  test: {
    needsMoto: true,
    // The dashboard's tests drive a real Chromium (playwright-core, test/integration/dashboard.test.ts).
    needsBrowser: true,
    // Lint errors (a focused or skipped test among them) fail the run before any test starts.
    before: [join(root, 'node_modules/.bin/biome'), 'lint', '--diagnostic-level=error', '.'],
    run: [process.execPath, join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...args],
  },
  start: { needsMoto: true, run: tsx('infra/local/start.ts') },
  bench: { needsMoto: true, run: tsx('bench/run.ts') },
  sim: { needsMoto: false, run: tsx('test/simulator/cli.ts') },
  'fuzz-api': { needsMoto: true, needsFuzzer: true, run: tsx('test/fuzz/api-schemathesis.ts') },
  'dead-letters': { needsMoto: false, run: tsx('infra/ops/dead-letters-cli.ts') },
  // Talks to a running `npm start`; starts nothing and needs no emulator of its own.
  demo: { needsMoto: false, run: tsx('infra/local/demo.ts') },
};

function tsx(entry) {
  return [process.execPath, join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, entry), ...args];
}

function run(cmd, cmdArgs, options = {}) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`bootstrap: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

/**
 * What the install was made from: the lockfile and the patches applied after it. Compared by
 * content, not by date, so a fresh checkout of the same lockfile does not reinstall.
 */
function installSource() {
  const hash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json')));
  const patches = join(root, 'patches');
  if (existsSync(patches)) {
    for (const name of readdirSync(patches).sort())
      hash.update(name).update(readFileSync(join(patches, name)));
  }
  return hash.digest('hex');
}

function ensureNodeModules() {
  const modules = join(root, 'node_modules');
  const stamp = join(modules, '.clinic-wa-install');
  const source = installSource();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === source) return;
  // A linked node_modules is another checkout's install (a git worktree): `npm ci` would empty it
  // under whatever that checkout is running. Its owner installs; here we only say so.
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) {
    console.warn('bootstrap: node_modules is a link to another checkout’s install; not reinstalling it');
    return;
  }
  // On a fresh clone this runs on the Node that started us: npm's engine warnings are expected until
  // the project's own Node (installed by this very step) takes over.
  console.log(`bootstrap: installing npm packages (npm ci, on Node ${process.version})…`);
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, source);
}

const motoRequirement = readFileSync(join(root, 'infra/local/requirements.txt'), 'utf8');

function ensureMotoVirtualenv() {
  const venv = join(root, '.venv');
  const stamp = join(venv, '.requirements.txt');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === motoRequirement) return;
  console.log('bootstrap: creating the Python virtualenv for the AWS emulator (moto)…');
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) {
    console.error('bootstrap: python3 is required for the local AWS emulator (moto) and was not found');
    process.exit(1);
  }
  run(python, ['-m', 'venv', venv]);
  run(join(venv, 'bin/pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '-r',
    'infra/local/requirements.txt',
  ]);
  run('sh', ['-c', `cp infra/local/requirements.txt ${JSON.stringify(stamp)}`]);
}

const fuzzerRequirement = readFileSync(join(root, 'infra/local/requirements-fuzz.txt'), 'utf8');

/**
 * schemathesis (the API fuzzer, `npm run fuzz:api`) in the same virtualenv, installed with moto's
 * requirements so pip resolves both together; only the commands that need it pay for it.
 */
function ensureFuzzerVirtualenv() {
  const stamp = join(root, '.venv/.requirements-fuzz.txt');
  const wanted = `${motoRequirement}${fuzzerRequirement}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  console.log('bootstrap: installing the API fuzzer (schemathesis) into the Python virtualenv…');
  run(join(root, '.venv/bin/pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '-r',
    'infra/local/requirements.txt',
    '-r',
    'infra/local/requirements-fuzz.txt',
  ]);
  writeFileSync(stamp, wanted);
}

/** Runs `cmd` with inherited stdio and signals, and exits with its code. */
function handOver(cmd, cmdArgs, env) {
  const child = spawn(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/**
 * Re-executes this script on the project's Node unless it already runs on it. Loud when the binary
 * is missing: a stricter npm that skips the `node` package's preinstall script leaves it absent.
 */
function ensureProjectNode() {
  if (!/^\d+\.\d+\.\d+$/.test(pinnedNode ?? '')) {
    console.error(
      `bootstrap: package.json must pin devDependencies.node to an exact version (found ${pinnedNode})`,
    );
    process.exit(1);
  }
  if (process.version === `v${pinnedNode}`) return false;
  const reported = existsSync(projectNode)
    ? spawnSync(projectNode, ['--version'], { encoding: 'utf8' })
    : undefined;
  if (reported?.stdout?.trim() !== `v${pinnedNode}`) {
    console.error(
      `bootstrap: the project's Node v${pinnedNode} is missing at ${projectNode}` +
        (reported ? ` (it reports '${reported.stdout?.trim() || reported.error?.message}')` : '') +
        `.\nThe npm package 'node' installs it in its preinstall script; package.json's allowScripts approves` +
        ` that script. Reinstall with: rm -rf node_modules && npm ci`,
    );
    process.exit(1);
  }
  handOver(projectNode, [self, command, ...args], { ...process.env, PATH: pathWithProjectBin() });
  return true;
}

/** PATH with node_modules/.bin first, so a `node` any tool spawns is the project's too. */
function pathWithProjectBin() {
  const rest = (process.env.PATH ?? '').split(delimiter).filter((entry) => entry !== binDir);
  return [binDir, ...rest].join(delimiter);
}

const selected = commands[command];
if (!selected) {
  console.error(`bootstrap: unknown command '${command}' (known: ${Object.keys(commands).join(', ')})`);
  process.exit(2);
}
ensureNodeModules();
if (!ensureProjectNode()) runCommand();

/**
 * Debian's Chromium for the dashboard's browser tests (playwright-core drives it; Playwright's own
 * browser downloads come from a CDN, not a package registry). Installed with apt when absent and
 * this process is root (a CI container); through sudo only when asked (`CLINIC_WA_INSTALL_BROWSER=1`),
 * never as a surprise on a developer's machine; otherwise those tests say what is missing.
 */
function ensureBrowser() {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(chromium)) return;
  if (spawnSync('apt-get', ['--version']).status !== 0) {
    console.warn(
      `bootstrap: no Chromium at ${chromium} and no apt-get: the dashboard's browser tests will fail (set CHROMIUM_PATH)`,
    );
    return;
  }
  const asRoot = process.getuid?.() === 0;
  const viaSudo =
    process.env.CLINIC_WA_INSTALL_BROWSER === '1' && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!asRoot && !viaSudo) {
    console.warn(
      `bootstrap: no Chromium at ${chromium}; install it (sudo apt-get install chromium, or CLINIC_WA_INSTALL_BROWSER=1 npm test) or set CHROMIUM_PATH`,
    );
    return;
  }
  console.log('bootstrap: installing Chromium (Debian package) for the dashboard’s browser tests…');
  const apt = (aptArgs) =>
    spawnSync(asRoot ? 'apt-get' : 'sudo', asRoot ? aptArgs : ['-n', 'apt-get', ...aptArgs], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status;
  if (apt(['update', '-qq']) !== 0 || apt(['install', '-y', '-qq', 'chromium']) !== 0)
    console.warn('bootstrap: installing Chromium failed: the dashboard’s browser tests will fail');
}

function runCommand() {
  if (selected.needsMoto) ensureMotoVirtualenv();
  if (selected.needsBrowser) ensureBrowser();
  if (selected.needsFuzzer) ensureFuzzerVirtualenv();
  if (selected.before) {
    const [beforeBin, ...beforeArgs] = selected.before;
    run(beforeBin, beforeArgs);
  }
  const [bin, ...binArgs] = selected.run;
  handOver(bin, binArgs, { ...process.env, PATH: pathWithProjectBin() });
}
