// What the integration global setup provides to every test: `inject('localAws')`.
import type { RuntimeEnvironment } from '../../infra/runtime-environment.ts';

export interface LocalAwsContext {
  /** The emulator's endpoint: set it as `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  readonly region: string;
  /** The stateful stack's `RuntimeEnvironment`, provisioned in the emulator. */
  readonly env: RuntimeEnvironment;
}

declare module 'vitest' {
  export interface ProvidedContext {
    localAws: LocalAwsContext;
  }
}
