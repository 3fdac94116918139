import { type BackoffPolicy, backoffDelay } from './backoff.ts';

export const DEFAULT_RECORD_RETRY: BackoffPolicy = { baseMs: 250, maxMs: 5_000 };

export class InboxClosedError extends Error {
  constructor() {
    super('the connection closed before the message was recorded');
    this.name = 'InboxClosedError';
  }
}

/**
 * A message that is not to be recorded at all (its channel is being deleted): given up at once,
 * never retried, and no receipt goes out — WhatsApp keeps it for the phone and the devices still
 * linked; nothing of it is stored for the deleted channel.
 */
export class RecordRefusedError extends Error {
  constructor(reason: string) {
    super(`the message is not recorded: ${reason}`);
    this.name = 'RecordRefusedError';
  }
}

/**
 * The received messages of one connection, recorded one at a time in the order WhatsApp delivered
 * them. `admit` resolves once its message is recorded — Baileys sends the delivery receipt then —
 * and a record that fails is retried with backoff while the receipt waits (an S3 or DynamoDB outage
 * loses nothing: the message is still in hand). Closing the inbox (the connection is gone) gives up
 * on what is not recorded yet, the record under way included (its signal aborts: a download stops
 * at once): no receipt went out for it, so WhatsApp delivers it again.
 */
export class Inbox<T> {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly closing = new AbortController();
  private readonly waking = new Set<() => void>();

  constructor(
    private readonly record: (item: T, signal: AbortSignal) => Promise<void>,
    private readonly options: {
      readonly retry?: BackoffPolicy;
      readonly onRetry?: (error: unknown, attempt: number) => void;
    } = {},
  ) {}

  admit(item: T): Promise<void> {
    const recorded = this.tail.then(() => this.recordUntilDone(item));
    this.tail = recorded.catch(() => undefined);
    return recorded;
  }

  /** Resolves once everything admitted so far is recorded or given up. */
  async settled(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  close(): void {
    this.closed = true;
    this.closing.abort(new InboxClosedError());
    for (const wake of this.waking) wake();
  }

  private async recordUntilDone(item: T): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new InboxClosedError();
      try {
        await this.record(item, this.closing.signal);
        return;
      } catch (error) {
        if (this.closed) throw new InboxClosedError();
        if (error instanceof RecordRefusedError) throw error;
        this.options.onRetry?.(error, attempt);
      }
      await this.pause(backoffDelay(attempt, this.options.retry ?? DEFAULT_RECORD_RETRY));
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waking.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waking.add(wake);
    });
  }
}
