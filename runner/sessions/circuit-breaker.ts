export interface CircuitBreakerPolicy {
  /** Consecutive failed connects that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit refuses attempts before letting one through. */
  readonly openMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerPolicy = { failureThreshold: 8, openMs: 5 * 60_000 };

export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * Per channel: after `failureThreshold` failures in a row the channel stops trying for `openMs`
 * (it is reported `failed`), then one trial attempt decides whether to close or stay open.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;

  constructor(
    private readonly policy: CircuitBreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.policy.openMs ? 'half_open' : 'open';
  }

  /** Milliseconds until an attempt is allowed; 0 when it is allowed now. */
  waitMs(): number {
    if (this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.policy.openMs - this.now());
  }

  recordSuccess(): void {
    this.failures = 0;
    this.openedAt = null;
  }

  recordFailure(): void {
    this.failures++;
    if (this.state === 'half_open' || this.failures >= this.policy.failureThreshold)
      this.openedAt = this.now();
  }
}
