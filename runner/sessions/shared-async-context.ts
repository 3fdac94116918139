// Baileys (rc14, `addTransactionCapability`) makes an AsyncLocalStorage for every socket and never
// disables it. On Node 20 each enabled storage hooks every promise of the process (async_hooks
// `_propagate`, one property per storage on each resource), so CPU and memory per promise grow with
// the sockets ever opened: restoring 1,000 channels spent 35 % of the runner's CPU there and 40 % in
// GC, and did not finish in 5 minutes. Here every storage made afterwards is a slot in one real
// storage: one hook, whatever the number of sockets. (Node's AsyncContextFrame, default from
// Node 24, removes the cost too.)
import asyncHooks, { AsyncLocalStorage } from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

const INSTALLED = Symbol.for('clinic-wa.sharedAsyncContext');

type Slots = Map<object, unknown>;

/** The AsyncLocalStorage API, each instance one key in a store shared by all of them. */
function slotStorageOver(shared: AsyncLocalStorage<Slots>) {
  return class SlotStorage<T> {
    static readonly bind = AsyncLocalStorage.bind;
    static readonly snapshot = AsyncLocalStorage.snapshot;

    getStore(): T | undefined {
      return shared.getStore()?.get(this) as T | undefined;
    }

    run<R, A extends unknown[]>(store: T, callback: (...args: A) => R, ...args: A): R {
      return shared.run(this.slotsWith(store), callback, ...args);
    }

    exit<R, A extends unknown[]>(callback: (...args: A) => R, ...args: A): R {
      const slots = new Map(shared.getStore());
      slots.delete(this);
      return shared.run(slots, callback, ...args);
    }

    enterWith(store: T): void {
      shared.enterWith(this.slotsWith(store));
    }

    /** A slot holds nothing outside `run`, so there is nothing to switch off. */
    disable(): void {}

    private slotsWith(store: T): Slots {
      return new Map(shared.getStore()).set(this, store);
    }
  };
}

/** Makes every later `new AsyncLocalStorage()` a slot of one shared storage; idempotent. */
export function installSharedAsyncContext(): void {
  const exports = asyncHooks as unknown as Record<PropertyKey, unknown>;
  if (exports[INSTALLED]) return;
  exports.AsyncLocalStorage = slotStorageOver(new AsyncLocalStorage<Slots>());
  exports[INSTALLED] = true;
  // ESM importers (Baileys) see the builtin's exports through a facade synced on request.
  syncBuiltinESMExports();
}
