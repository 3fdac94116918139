/** The outcome of each item of a batch, in order: undefined when it succeeded, else why it failed. */
export type BatchOutcomes = readonly (unknown | undefined)[];

export interface CoalescerOptions<T> {
  /** Carries out one batch; a throw fails every item of it. */
  readonly process: (batch: T[]) => Promise<BatchOutcomes>;
  /** Items per batch at most (the AWS API's limit). */
  readonly maxItems: number;
  /** How long the first item of a batch waits for company. */
  readonly lingerMs: number;
  /** A batch's total weight at most (a request-size limit), with the weight of one item. */
  readonly maxWeight?: number;
  readonly weigh?: (item: T) => number;
}

/**
 * Gathers the items many callers hand in and carries them out in batches: at once when a batch is
 * full, else after a short linger. Each caller's promise settles with its own item's outcome. One
 * call per batch instead of per item is what keeps the emulator (and the AWS bill) in bounds.
 */
export class Coalescer<T> {
  private pending: { item: T; weight: number; settle: (error?: unknown) => void }[] = [];
  private pendingWeight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: CoalescerOptions<T>) {}

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      const weight = this.options.weigh?.(item) ?? 0;
      const maxWeight = this.options.maxWeight ?? Number.POSITIVE_INFINITY;
      if (this.pending.length > 0 && this.pendingWeight + weight > maxWeight) this.dispatch();
      this.pending.push({ item, weight, settle: (error) => (error ? reject(error) : resolve()) });
      this.pendingWeight += weight;
      if (this.pending.length >= this.options.maxItems) this.dispatch();
      else this.timer ??= setTimeout(() => this.dispatch(), this.options.lingerMs);
    });
  }

  /** Carries out everything handed in so far and resolves when every batch is done. */
  async flush(): Promise<void> {
    this.dispatch();
    await Promise.allSettled(this.running);
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.options.maxItems);
    this.pendingWeight = this.pending.reduce((sum, entry) => sum + entry.weight, 0);
    const run = this.carryOut(batch);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    if (this.pending.length > 0) this.timer = setTimeout(() => this.dispatch(), this.options.lingerMs);
  }

  private async carryOut(batch: { item: T; settle: (error?: unknown) => void }[]): Promise<void> {
    try {
      const outcomes = await this.options.process(batch.map((entry) => entry.item));
      for (const [i, entry] of batch.entries()) entry.settle(outcomes[i]);
    } catch (error) {
      for (const entry of batch) entry.settle(error);
    }
  }
}
