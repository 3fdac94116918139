// The in-memory cache in front of a channel's key store (Baileys' `makeCacheableSignalKeyStore`
// takes any CacheStore). Ours, rather than Baileys' default, so that a failed write can flush it:
// Baileys caches values before the store writes them, and a cache holding values the table never
// got would make this runner's Signal state diverge from what a successor would restore.
import type { CacheStore } from '@whiskeysockets/baileys';

const DEFAULT_TTL_MS = 5 * 60_000;
const SWEEP_EVERY_SETS = 1_000;

export class ExpiringKeyCache implements CacheStore {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();
  private setsSinceSweep = 0;

  constructor(
    private readonly ttlMs: number = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value as T;
  }

  set<T>(key: string, value: T): void {
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    if (++this.setsSinceSweep >= SWEEP_EVERY_SETS) this.sweep();
  }

  del(key: string): void {
    this.entries.delete(key);
  }

  flushAll(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    this.setsSinceSweep = 0;
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
