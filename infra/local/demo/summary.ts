// The last lines of `npm run demo`: each step with its time, what the webhook receiver saw, and
// the verdict with what failed.
import { type DemoOutcome, seconds } from './flow.ts';

export function summaryLines(outcome: DemoOutcome): string[] {
  // Nothing ran (the platform is not there): the reason is the whole story.
  if (outcome.steps.length === 0) return ['', `Demo FAILED: ${outcome.failure}`];
  const lines = ['', 'Summary'];
  const width = Math.max(0, ...outcome.steps.map((step) => step.title.length));
  for (const step of outcome.steps) {
    const mark = step.ok === null ? '-' : step.ok ? '✓' : '✗';
    const time = step.ok === null ? 'not run' : seconds(step.ms);
    lines.push(`  ${mark} ${step.title.padEnd(width)}  ${time}`);
  }
  const types = new Map<string, number>();
  for (const { event } of outcome.events) types.set(event.type, (types.get(event.type) ?? 0) + 1);
  const byType = [...types].map(([type, count]) => `${count} ${type}`).join(', ');
  lines.push(
    `  webhook: ${outcome.events.length} events verified${byType ? ` (${byType})` : ''}, ` +
      `${outcome.refusedRequests} requests refused`,
  );
  if (outcome.statusEvents.length > 0) {
    lines.push(`  message statuses at the webhook: ${outcome.statusEvents.join(' → ')}`);
  }
  lines.push(`  total ${seconds(outcome.totalMs)}`);
  lines.push('', outcome.ok ? 'Demo passed.' : `Demo FAILED: ${outcome.failure}`);
  return lines;
}
