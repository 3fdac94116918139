// Something the user does against the API (a form sent, a button pressed): busy while it runs, so
// its controls are disabled, and its failure kept to show beside them until the next try.
import { useState } from 'preact/hooks';

export interface Action {
  readonly busy: boolean;
  readonly error: unknown;
  /** Runs `work`, busy meanwhile; a failure is kept in `error`, never thrown. */
  run(work: () => Promise<unknown>): Promise<void>;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}
