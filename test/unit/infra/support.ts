import type { App } from 'aws-cdk-lib';
import { createApp, definePlatform } from '#infra/platform-app.ts';
import type { StatefulStack } from '#infra/stateful-stack.ts';

/**
 * A platform app as `cdk synth` builds it, minus the checks that only cost time here (the cdk-nag
 * test runs them itself; CloudFormation's schema validation runs in `cdk synth`).
 */
export function statefulStack(context: Record<string, unknown> = {}): { app: App; stack: StatefulStack } {
  const app = createApp({ context, builtinCloudFormationValidation: false, treeMetadata: false });
  return { app, stack: definePlatform(app, { checks: false }).stateful };
}
