// `npm run demo`: the platform's whole path, walked against a running `npm start` through the public
// API (infra/local/demo/flow.ts), printed call by call, with a summary. Starts nothing itself: with
// no platform to talk to it says so and exits 1. Exit code 0 only when every step succeeded.
import { runDemo } from './demo/flow.ts';
import { summaryLines } from './demo/summary.ts';
import { DemoSetupError, resolveDemoTargets } from './demo/targets.ts';

const print = (line: string) => console.log(line);

try {
  const targets = resolveDemoTargets(process.env, (line) => console.warn(`demo: ${line}`));
  const outcome = await runDemo(targets, { print });
  for (const line of summaryLines(outcome)) print(line);
  process.exitCode = outcome.ok ? 0 : 1;
} catch (error) {
  if (!(error instanceof DemoSetupError)) throw error;
  console.error(`demo: ${error.message}`);
  process.exitCode = 1;
}
