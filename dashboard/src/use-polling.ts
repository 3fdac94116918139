// A resource read now and again every few seconds, one request at a time, paused while the tab is
// hidden. The last good answer stays on screen while a later read fails; the failure is shown beside it.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const POLL_INTERVAL_MS = 3_000;

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Reads again now (after a change the user made). */
  reload(): void;
}

export function usePolling<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  intervalMs: number | null = POLL_INTERVAL_MS,
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const wake = useRef<() => void>(() => {});

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    // A reload asked for while a read is out runs right after it: that read may predate the change.
    let again = false;
    setData(undefined);
    setLoading(true);
    const run = async () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      running = true;
      try {
        const value = await load();
        if (!stopped) {
          setData(value);
          setError(null);
        }
      } catch (failure) {
        if (!stopped) setError(failure);
      } finally {
        running = false;
        if (!stopped) {
          setLoading(false);
          if (again) {
            again = false;
            void run();
          } else if (intervalMs !== null && !document.hidden) timer = setTimeout(run, intervalMs);
        }
      }
    };
    const onVisibility = () => {
      if (!document.hidden) void run();
    };
    wake.current = () => void run();
    document.addEventListener('visibilitychange', onVisibility);
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
    // The caller names what the read depends on.
  }, deps);

  const reload = useCallback(() => wake.current(), []);
  return { data, error, loading, reload };
}
