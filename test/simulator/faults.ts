// Fault injection: what a test can do to the network between clients and the simulator.
export interface FrameDelay {
  readonly delayMs: number;
  readonly jitterMs: number;
}

export class FaultState {
  private refuseUntil = 0;
  private frameDelay: FrameDelay = { delayMs: 0, jitterMs: 0 };

  /** Refuse new WebSocket connections for `durationMs` (0 lifts the refusal). */
  refuseConnections(durationMs: number): void {
    this.refuseUntil = durationMs > 0 ? Date.now() + durationMs : 0;
  }

  get refusing(): boolean {
    return Date.now() < this.refuseUntil;
  }

  /** Delay every server→client frame by `delayMs` plus a uniform random `0..jitterMs`; order is kept. */
  delayFrames(delayMs: number, jitterMs = 0): void {
    this.frameDelay = { delayMs: Math.max(0, delayMs), jitterMs: Math.max(0, jitterMs) };
  }

  nextFrameDelayMs(): number {
    const { delayMs, jitterMs } = this.frameDelay;
    return delayMs + (jitterMs > 0 ? Math.random() * jitterMs : 0);
  }

  get current(): { refusingForMs: number; delayMs: number; jitterMs: number } {
    return { refusingForMs: Math.max(0, this.refuseUntil - Date.now()), ...this.frameDelay };
  }

  reset(): void {
    this.refuseUntil = 0;
    this.frameDelay = { delayMs: 0, jitterMs: 0 };
  }
}
