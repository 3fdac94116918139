// Opt-in experiment for a runner child (`BENCH_RUNNER_NODE_FLAGS="--import ./bench/runner/shared-async-local-storage.ts"`):
// every AsyncLocalStorage the process makes becomes a slot in ONE real AsyncLocalStorage.
//
// Why: Baileys (7.0.0-rc14, addTransactionCapability) makes an AsyncLocalStorage per socket. On
// Node 20, AsyncLocalStorage runs on async_hooks: every promise and async resource created anywhere
// in the process calls `_propagate` on each enabled storage and gets one property per storage, so
// CPU and memory per async resource grow with the number of sockets. This file shows what the
// runner would gain from one storage per process (a Baileys patch), or from Node's
// AsyncContextFrame (`--experimental-async-context-frame` on Node 22, the default on Node 24).
import asyncHooks from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

const Real = asyncHooks.AsyncLocalStorage;
const shared = new Real<Map<object, unknown>>();

class SlotStorage<T> {
  getStore(): T | undefined {
    return shared.getStore()?.get(this) as T | undefined;
  }

  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
    const next = new Map(shared.getStore());
    next.set(this, store);
    return shared.run(next, fn, ...args);
  }

  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    const next = new Map(shared.getStore());
    next.delete(this);
    return shared.run(next, fn, ...args);
  }

  enterWith(store: T): void {
    const next = new Map(shared.getStore());
    next.set(this, store);
    shared.enterWith(next);
  }

  disable(): void {}

  static bind = Real.bind;
  static snapshot = Real.snapshot;
}

(asyncHooks as { AsyncLocalStorage: unknown }).AsyncLocalStorage = SlotStorage;
syncBuiltinESMExports();
