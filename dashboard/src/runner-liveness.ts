// Whether a runner (and a shard's lease) is alive, judged as the runners judge each other
// (docs/api.md, "The operator's views"): by a counter moving between reads, never by a time another
// host wrote. `beats` grows at every heartbeat and `renewals` at every renewal, each every TTL/3; a
// counter that has read the same for a whole TTL, counted on this browser's clock from when it first
// read that value, belongs to a silent holder. Before a TTL has passed without the counter moving
// was seen, the page says it is still checking rather than guess from one read.
import type { Runners } from './api/models.ts';

/**
 * The runners' lease TTL (`LEASE_TTL_SECONDS`, infra/runner-stack.ts): a live runner moves both
 * counters three times within it. The API does not say it; a deployment with a longer TTL would
 * need this raised with it.
 */
export const LEASE_TTL_MS = 30_000;

/** One counter as this page has read it: its value, since when (this browser's clock) it reads so. */
export interface CounterWatch {
  readonly value: number;
  readonly since: number;
  /** It moved at least once while the page watched: the holder was heard from. */
  readonly moved: boolean;
}

export type Liveness =
  | { readonly state: 'alive' }
  | { readonly state: 'silent'; readonly forMs: number }
  | { readonly state: 'checking'; readonly verdictInMs: number };

export function watchCounter(previous: CounterWatch | undefined, value: number, now: number): CounterWatch {
  if (!previous) return { value, since: now, moved: false };
  if (previous.value !== value) return { value, since: now, moved: true };
  return previous;
}

export function livenessOf(watch: CounterWatch, now: number, ttlMs = LEASE_TTL_MS): Liveness {
  const unchangedFor = now - watch.since;
  if (unchangedFor >= ttlMs) return { state: 'silent', forMs: unchangedFor };
  if (watch.moved) return { state: 'alive' };
  return { state: 'checking', verdictInMs: ttlMs - unchangedFor };
}

/** The counters of one answer, keyed by runner (its beats) and by runner and shard (a lease's renewals). */
export type Watches = ReadonlyMap<string, CounterWatch>;

export const runnerKey = (runnerId: string) => `runner:${runnerId}`;
/** By holder too: a lease taken over by another runner is watched afresh. */
export const leaseKey = (runnerId: string, shard: number) => `lease:${shard}:${runnerId}`;

/** The watches after reading `answer` at `now`: what left the answer is forgotten. */
export function observe(previous: Watches, answer: Runners, now: number): Watches {
  const next = new Map<string, CounterWatch>();
  for (const runner of answer.runners) {
    if (runner.beats !== null) {
      const key = runnerKey(runner.runnerId);
      next.set(key, watchCounter(previous.get(key), runner.beats, now));
    }
    for (const lease of runner.shards) {
      const key = leaseKey(runner.runnerId, lease.shard);
      next.set(key, watchCounter(previous.get(key), lease.renewals, now));
    }
  }
  return next;
}
