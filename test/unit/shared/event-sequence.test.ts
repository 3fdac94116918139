import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_MAX_RECEIVE_COUNT } from '#infra/constructs/event-routing.construct.ts';
import { MAX_RECEIVE_COUNT } from '#infra/constructs/secure-queue.construct.ts';
import {
  EVENT_GAP_WAIT_MS,
  EVENT_HOLD_LIMITS,
  gapOutwaited,
  gapWaitedMs,
} from '#shared/domain/event-sequence.ts';

const cursorMovedAt = (movedAtMs: number | null) => ({ epoch: 1, seq: 4, movedAtMs });

describe('how long a held event waits for its gap', () => {
  it('counts from its first receive, or from the cursor’s last move when that came later', () => {
    expect(gapWaitedMs(20_000, 5_000, cursorMovedAt(12_000))).toBe(8_000);
    expect(gapWaitedMs(20_000, 5_000, cursorMovedAt(1_000))).toBe(15_000);
    expect(gapWaitedMs(20_000, 5_000, cursorMovedAt(null))).toBe(15_000);
    expect(gapWaitedMs(20_000, 5_000, null)).toBe(15_000);
  });

  it('goes on once the channel stood still for the gap wait', () => {
    const arrival = { firstReceivedAt: 0, receiveCount: 5 };
    expect(gapOutwaited(EVENT_GAP_WAIT_MS - 1, arrival, cursorMovedAt(null))).toBe(false);
    expect(gapOutwaited(EVENT_GAP_WAIT_MS, arrival, cursorMovedAt(null))).toBe(true);
  });

  it('stops holding however its channel moves: past the longest hold, or past its receives', () => {
    // The cursor moved a second ago every time: the gap wait alone would hold it for ever.
    for (let at = 1_000; at < EVENT_HOLD_LIMITS.maxMs; at += 1_000) {
      expect(
        gapOutwaited(at, { firstReceivedAt: 0, receiveCount: at / 1_000 }, cursorMovedAt(at - 1_000)),
      ).toBe(false);
    }
    expect(
      gapOutwaited(EVENT_HOLD_LIMITS.maxMs, { firstReceivedAt: 0, receiveCount: 3 }, cursorMovedAt(29_500)),
    ).toBe(true);
    expect(
      gapOutwaited(
        5_000,
        { firstReceivedAt: 0, receiveCount: EVENT_HOLD_LIMITS.maxReceives + 1 },
        cursorMovedAt(4_900),
      ),
    ).toBe(true);
  });

  it('leaves the queue’s usual failed receives on top of the holds before its DLQ', () => {
    expect(WEBHOOK_EVENT_MAX_RECEIVE_COUNT - EVENT_HOLD_LIMITS.maxReceives).toBe(MAX_RECEIVE_COUNT);
  });
});
