// Synthesizes the stateful stack in-process, the way `cdk synth` would, and returns its template:
// the local platform is provisioned from the same definitions as AWS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, defineStatefulStack } from '../platform-app.ts';

export interface CloudFormationTemplate {
  readonly Resources: Record<string, CloudFormationResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
  readonly Parameters?: Record<string, { readonly Default?: unknown }>;
}

export interface CloudFormationResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | readonly string[];
  readonly Condition?: string;
}

export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CloudFormationTemplate;
}

export function synthesizeStatefulStack(context: Record<string, unknown> = {}): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), 'clinic-wa-synth-'));
  try {
    // Only the stack provisioned here: the API stack would bundle its functions and the runner stack
    // stage its image context, for nothing. The checks (cdk-nag, CloudFormation schemas) take seconds
    // and belong to `cdk synth` and the unit tests; here only the template matters.
    const app = createApp({ outdir, context, builtinCloudFormationValidation: false, treeMetadata: false });
    const stateful = defineStatefulStack(app);
    const assembly = app.synth();
    return {
      stackName: stateful.stackName,
      template: assembly.getStackByName(stateful.stackName).template as CloudFormationTemplate,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
