#!/usr/bin/env node
// The one entry point behind `npm start`, `npm test`, `npm run bench` and `npm run sim`.
// Plain JavaScript with no dependencies, because it runs before anything is installed: it installs
// the npm packages (when the lockfile changed) and the moto virtualenv (when a command needs AWS),
// then hands over to the TypeScript entry point of the command.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [command = 'test', ...args] = process.argv.slice(2);

const commands = {
  test: {
    needsMoto: true,
    // Lint errors (a focused or skipped test among them) fail the run before any test starts.
    before: [join(root, 'node_modules/.bin/biome'), 'lint', '--diagnostic-level=error', '.'],
    run: [join(root, 'node_modules/.bin/vitest'), 'run', ...args],
  },
  start: { needsMoto: true, run: tsx('infra/local/start.ts') },
  bench: { needsMoto: true, run: tsx('bench/run.ts') },
  sim: { needsMoto: false, run: tsx('test/simulator/cli.ts') },
};

function tsx(entry) {
  return [join(root, 'node_modules/.bin/tsx'), join(root, entry), ...args];
}

function run(cmd, cmdArgs, options = {}) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`bootstrap: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

function ensureNodeModules() {
  const installed = join(root, 'node_modules/.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('bootstrap: installing npm packages (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
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

const selected = commands[command];
if (!selected) {
  console.error(`bootstrap: unknown command '${command}' (known: ${Object.keys(commands).join(', ')})`);
  process.exit(2);
}
ensureNodeModules();
if (selected.needsMoto) ensureMotoVirtualenv();
if (selected.before) {
  const [beforeBin, ...beforeArgs] = selected.before;
  run(beforeBin, beforeArgs);
}

const [bin, ...binArgs] = selected.run;
// The SDK warns once per process that it will want Node 22 from 2027; Lambda runs 22 already and
// this machine runs 20, so the warning only buries test output.
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env };
const child = spawn(bin, binArgs, { cwd: root, stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
