// The real adapters against the emulator the global setup provisioned, built by the composition
// root the way a handler or the runner builds them from its environment.
import { inject } from 'vitest';
import { createPlatform } from '#shared/platform.ts';

export interface EmulatorContext {
  readonly endpoint: string;
  readonly region: string;
  readonly env: Readonly<Record<string, string>>;
}

/** The suite's shared emulator, or one a test started for itself (heavy tests want small tables). */
export function emulatorEnvironment(context: EmulatorContext = inject('localAws')): Record<string, string> {
  const { endpoint, region, env } = context;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
  };
}

/** The composition root's platform on the emulator, as a runner builds it (`client`: its DynamoDB). */
export function platformRepositories(context?: EmulatorContext) {
  const platform = createPlatform({ source: 'runner', env: emulatorEnvironment(context) });
  return { ...platform, client: platform.clients.dynamo };
}
