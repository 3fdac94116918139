import { describe, expect, it } from 'vitest';
import { Semaphore } from '#runner/semaphore.ts';
import { backoffDelay } from '#runner/sessions/backoff.ts';
import { CircuitBreaker } from '#runner/sessions/circuit-breaker.ts';

describe('reconnect backoff', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };

  it('doubles the ceiling with each attempt up to the cap', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, policy, () => 0.999999) + 1;
    expect([0, 1, 2, 3, 6, 7, 20].map(ceiling)).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });

  it('spreads delays over the whole range (full jitter)', () => {
    expect(backoffDelay(5, policy, () => 0)).toBe(0);
    expect(backoffDelay(5, policy, () => 0.5)).toBe(16_000);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, waits, lets one trial through and closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 10_000 }, () => now);
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.waitMs()).toBe(10_000);
    now = 10_000;
    expect(breaker.state).toBe('half_open');
    expect(breaker.waitMs()).toBe(0);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
  });

  it('reopens at once when the trial attempt fails', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 2, openMs: 1000 }, () => now);
    breaker.recordFailure();
    breaker.recordFailure();
    now = 1000;
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.waitMs()).toBe(1000);
  });
});

describe('semaphore (connect limiter)', () => {
  it('never runs more than its limit at once and runs everything queued', async () => {
    const limiter = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 1));
          running--;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(limiter.running).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('frees its slot when the work fails', async () => {
    const limiter = new Semaphore(1);
    await expect(limiter.run(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });
});
