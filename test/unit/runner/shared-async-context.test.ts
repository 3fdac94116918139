import { describe, expect, it } from 'vitest';
import { installSharedAsyncContext } from '#runner/sessions/shared-async-context.ts';

installSharedAsyncContext();
// Imported after the installation, as Baileys' sockets are made after the runner installs it.
const { AsyncLocalStorage } = await import('node:async_hooks');

describe('shared async context', () => {
  it('keeps each storage’s store apart, across awaits and nested runs', async () => {
    const a = new AsyncLocalStorage<string>();
    const b = new AsyncLocalStorage<number>();
    expect(a.getStore()).toBeUndefined();

    const seen = await a.run('outer', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const inner = await b.run(7, async () => {
        await Promise.resolve();
        return [a.getStore(), b.getStore()];
      });
      const shadowed = await a.run('inner', async () => a.getStore());
      const exited = a.exit(() => [a.getStore(), b.getStore()]);
      return { inner, shadowed, exited, after: [a.getStore(), b.getStore()] };
    });

    expect(seen).toEqual({
      inner: ['outer', 7],
      shadowed: 'inner',
      exited: [undefined, undefined],
      after: ['outer', undefined],
    });
    expect([a.getStore(), b.getStore()]).toEqual([undefined, undefined]);
  });

  it('keeps concurrent runs of one storage apart', async () => {
    const storage = new AsyncLocalStorage<number>();
    const results = await Promise.all(
      [1, 2, 3].map((n) =>
        storage.run(n, async () => {
          await new Promise((resolve) => setTimeout(resolve, 10 - n));
          return storage.getStore();
        }),
      ),
    );
    expect(results).toEqual([1, 2, 3]);
  });

  it('is what `new AsyncLocalStorage()` makes once installed, even through the ESM import', async () => {
    const { AsyncLocalStorage: imported } = await import('async_hooks');
    expect(new imported()).toBeInstanceOf(AsyncLocalStorage);
    expect(AsyncLocalStorage.name).toBe('SlotStorage');
  });
});
