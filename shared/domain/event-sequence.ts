import { z } from 'zod';

// A channel's events in the order its runner published them (docs/architecture.md, "Order."). The
// bus and the webhook event queue (standard SQS) hand events out in any order, so each event of a
// channel the runner publishes carries its place: `epoch`, the fence token of the shard lease under
// which the runner holds the channel (it only grows, across takeovers: shared/domain/fence.ts), and
// `seq`, 1, 2, 3… counted by that runner for the channel under that lease. The webhook fan-out keeps
// a cursor per channel (the last place it fanned out) and holds an event that comes before the one
// due, for a while.

/** An event's place in its channel's order. Internal: never part of what clinics receive or read. */
export interface EventSequence {
  readonly epoch: number;
  readonly seq: number;
}

export const eventSequenceSchema = z.object({
  epoch: z.number().int().min(0),
  seq: z.number().int().min(1),
});

/**
 * How long the fan-out holds an event whose predecessor has not come while its channel makes no
 * progress: measured from when SQS first handed the event out, or from the channel's cursor's last
 * move if that is later. A channel whose earlier events are still coming through (a burst drained
 * from a backlog, one held event behind another) keeps its order however long that takes; one whose
 * cursor stood still for this long is missing an event for good, or late, and goes on without it.
 */
export const EVENT_GAP_WAIT_MS = 10_000;

/** A channel's cursor: the last place fanned out, and when the fan-out moved it there (ms). */
export interface ChannelCursor extends EventSequence {
  /** null for a cursor written before this was kept: it counts as not moving. */
  readonly movedAtMs: number | null;
}

/**
 * How long an event held for a gap has waited for its channel: since it was first handed out, or
 * since the channel last moved on if that came later.
 */
export function gapWaitedMs(nowMs: number, firstReceivedAtMs: number, cursor: ChannelCursor | null): number {
  return nowMs - Math.max(firstReceivedAtMs, cursor?.movedAtMs ?? 0);
}

/** Negative when `a` comes before `b`, 0 for the same place, positive after. */
export function compareSequences(a: EventSequence, b: EventSequence): number {
  return a.epoch - b.epoch || a.seq - b.seq;
}

/**
 * Where an event stands against its channel's cursor (the last place fanned out; null: none yet):
 * - `next`: the one due — the cursor's next in its epoch, or the first of a newer epoch (a takeover
 *   starts at 1), or the first of any epoch when there is no cursor;
 * - `behind`: at or before the cursor — a duplicate, or a late event of an older epoch;
 * - `gap`: ahead of the one due — an event before it has not been fanned out yet.
 */
export function turnOf(cursor: EventSequence | null, sequence: EventSequence): 'next' | 'behind' | 'gap' {
  if (cursor === null) return sequence.seq === 1 ? 'next' : 'gap';
  if (sequence.epoch < cursor.epoch) return 'behind';
  if (sequence.epoch > cursor.epoch) return sequence.seq === 1 ? 'next' : 'gap';
  if (sequence.seq <= cursor.seq) return 'behind';
  return sequence.seq === cursor.seq + 1 ? 'next' : 'gap';
}
