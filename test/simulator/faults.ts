// Fault injection: what a test can do to the network between clients and the simulator.
export interface FrameDelay {
  readonly delayMs: number;
  readonly jitterMs: number;
}

/** What the media host does to the next downloads: cut them after `afterBytes` bytes of the body. */
export interface MediaFault {
  /** `reset`: a TCP reset; `stall`: nothing more is sent and the connection is left open. */
  readonly mode: 'reset' | 'stall';
  readonly afterBytes: number;
  /** How many more downloads it cuts; null: every one until lifted. */
  readonly remaining: number | null;
}

export class FaultState {
  private refuseUntil = 0;
  private frameDelay: FrameDelay = { delayMs: 0, jitterMs: 0 };
  private mediaFault: MediaFault | null = null;

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

  /** Cut the next `count` media downloads (all of them without a count) after `afterBytes` bytes. */
  cutMediaDownloads(mode: MediaFault['mode'], afterBytes: number, count?: number): void {
    this.mediaFault = { mode, afterBytes: Math.max(0, afterBytes), remaining: count ?? null };
  }

  /** The cut for a download starting now (and one fewer left), or null. */
  takeMediaFault(): { mode: MediaFault['mode']; afterBytes: number } | null {
    const fault = this.mediaFault;
    if (!fault) return null;
    const remaining = fault.remaining === null ? null : fault.remaining - 1;
    this.mediaFault = remaining === 0 ? null : { ...fault, remaining };
    return { mode: fault.mode, afterBytes: fault.afterBytes };
  }

  get current(): { refusingForMs: number; delayMs: number; jitterMs: number; media: MediaFault | null } {
    return {
      refusingForMs: Math.max(0, this.refuseUntil - Date.now()),
      ...this.frameDelay,
      media: this.mediaFault,
    };
  }

  reset(): void {
    this.refuseUntil = 0;
    this.frameDelay = { delayMs: 0, jitterMs: 0 };
    this.mediaFault = null;
  }
}
