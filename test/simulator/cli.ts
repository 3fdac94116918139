// `npm run sim -- --port <p> [--host <h>] [--snapshot <file>]`: the simulator as a process.
import { parseArgs } from 'node:util';
import { startSimulator } from './simulator.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7780' },
    host: { type: 'string', default: '127.0.0.1' },
    snapshot: { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`sim: --port must be an integer between 0 and 65535, got '${values.port}'`);
  process.exit(2);
}

const simulator = await startSimulator({ port, host: values.host, snapshotFile: values.snapshot });
console.log(`WhatsApp simulator`);
console.log(`  WebSocket:  ${simulator.wsUrl}`);
console.log(`  Admin API:  ${simulator.adminUrl}`);
console.log(`  Root key:   ${simulator.rootPublicKey.toString('base64')}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void simulator.stop().then(() => process.exit(0));
  });
}
