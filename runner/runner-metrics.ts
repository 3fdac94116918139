import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ChannelStatus } from '#shared/domain/channel.ts';

export type RunnerCounter =
  | 'Sends'
  | 'SendFailures'
  /** A send that threw and goes back to the queue (socket closed, no ack in time, stale fence…). */
  | 'SendRetries'
  /** A command refused: malformed, for a channel its tenant does not own or another shard serves, or impossible. */
  | 'CommandsRefused'
  /** A command given up at its deadline after failing for a transient reason (a send: `failed: expired`). */
  | 'CommandsExpired'
  | 'Reconnects'
  /** An attempt to record a received message failed and will be made again (its receipt waits). */
  | 'InboundRecordRetries'
  /** A received message recorded with a reason in place of its media or content (`mediaError`, `contentError`). */
  | 'InboundRecordedWithError'
  /** A download of a received file failed (reset, stalled, 5xx, expired URL…) and is tried again. */
  | 'MediaDownloadRetries'
  /**
   * A deleted channel's session erased without a logout (no socket could be opened in time, or the
   * logout failed): the clinic's phone keeps a stale linked device until WhatsApp drops it.
   */
  | 'DeletedWithoutLogout'
  | 'LeasesAcquired'
  | 'LeasesReleased'
  | 'LeasesLost';

/**
 * The runner's CloudWatch metrics in Embedded Metric Format: counters accumulate between flushes,
 * and each flush also reports the sessions held in each state (the scaling signal: sessions per task).
 */
export class RunnerMetrics {
  private counts = new Map<RunnerCounter, number>();
  private readonly sinceStart = new Map<RunnerCounter, number>();

  constructor(private readonly metrics: Metrics) {}

  count(counter: RunnerCounter, by = 1): void {
    this.counts.set(counter, (this.counts.get(counter) ?? 0) + by);
    this.sinceStart.set(counter, (this.sinceStart.get(counter) ?? 0) + by);
  }

  /** Every counter since the process started (for `/healthz`). */
  totals(): Partial<Record<RunnerCounter, number>> {
    return Object.fromEntries(this.sinceStart);
  }

  flush(sessionsByState: Partial<Record<ChannelStatus, number>>): void {
    for (const [counter, value] of this.counts) this.metrics.addMetric(counter, MetricUnit.Count, value);
    this.counts = new Map();
    const total = Object.values(sessionsByState).reduce((sum, n) => sum + (n ?? 0), 0);
    this.metrics.addMetric('Sessions', MetricUnit.Count, total);
    this.metrics.publishStoredMetrics();
    for (const [state, value] of Object.entries(sessionsByState)) {
      const single = this.metrics.singleMetric();
      single.addDimension('state', state);
      single.addMetric('SessionsByState', MetricUnit.Count, value ?? 0);
    }
  }
}
