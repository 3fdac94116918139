// cdk-nag v3 reports through CDK's policy-validation plugins, not through annotations: a check of
// `Annotations` alone would pass whatever the stack. So the pack is run on the stack directly, the
// control below proves it does find problems, and synthesis with the plugin must report nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, definePlatform, WITHOUT_BUNDLING } from '#infra/platform-app.ts';
import { platform } from './support.ts';

function findings(scope: IConstruct) {
  return new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(scope)
    .violations.flatMap((violation) =>
      violation.violatingResources.map(
        (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
      ),
    );
}

describe('cdk-nag AwsSolutions', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'clinic-wa-nag-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  // Builds and synthesizes every stack: seconds on a loaded machine, past vitest's default 5.
  it('finds no unacknowledged error or warning in any stack', () => {
    const { stateful, api, runner, consumers, dashboard } = platform({ shardCount: 2 });
    for (const stack of [stateful, api, runner, consumers, dashboard]) {
      expect(findings(stack)).toEqual([]);
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
      expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    }
  }, 30_000);

  it('does find problems: an unprotected queue is reported', () => {
    const stack = new Stack(new App(), 'Control');
    new Queue(stack, 'Unprotected');
    expect(findings(stack)).toEqual(
      expect.arrayContaining([
        'error AwsSolutions-SQS3 at Control/Unprotected/Resource',
        'error AwsSolutions-SQS4 at Control/Unprotected/Resource',
      ]),
    );
  });

  it('reports nothing when the app synthesizes with the plugin, as `cdk synth` does', () => {
    // Bundling changes no template property a check reads; the bundles are tested in api-bundles.test.ts.
    const app = createApp({
      outdir,
      context: { ...WITHOUT_BUNDLING, shardCount: 2 },
      builtinCloudFormationValidation: false,
    });
    definePlatform(app);
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it('acknowledges rules only on the resources they excuse, never on a stack or the app', () => {
    const { app } = platform({ shardCount: 2 });
    // Ours are AwsSolutions ones; CDK acknowledges some of its own CloudFormation checks on stacks.
    const acknowledgedAt = app.node
      .findAll()
      .filter((construct) =>
        construct.node.metadata.some(
          (entry) =>
            entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
            Object.keys(entry.data as object).some((id) => id.includes('AwsSolutions-')),
        ),
      );
    expect(acknowledgedAt.map((construct) => construct.node.path).sort()).toEqual([
      'ClinicWa-Api/AdminKey/Secret',
      'ClinicWa-Api/Api/Api',
      'ClinicWa-Api/Api/Api/CloudWatchRole',
      'ClinicWa-Api/Api/Api/Default/docs/GET',
      'ClinicWa-Api/Api/Api/Default/health/GET',
      'ClinicWa-Api/Api/Api/Default/v1/openapi.json/GET',
      'ClinicWa-Api/Functions/Admin/Role',
      'ClinicWa-Api/Functions/Authorizer/Role',
      'ClinicWa-Api/Functions/Channels/Role',
      'ClinicWa-Api/Functions/Messages/Role',
      'ClinicWa-Api/Functions/Public/Role',
      'ClinicWa-Api/Functions/Tenants/Role',
      'ClinicWa-Api/Functions/Webhooks/Role',
      'ClinicWa-Consumers/Recorder/Function/Role',
      'ClinicWa-Consumers/WebhookDispatcher/Delivery/Role',
      'ClinicWa-Consumers/WebhookDispatcher/FanOut/Role',
      'ClinicWa-Dashboard/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C',
      'ClinicWa-Dashboard/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C/ServiceRole',
      'ClinicWa-Dashboard/Hosting/AccessLogs',
      'ClinicWa-Dashboard/Hosting/Distribution',
      'ClinicWa-Runner/Runner/Task',
      'ClinicWa-Runner/Runner/Task/ExecutionRole',
      'ClinicWa-Runner/Runner/Task/TaskRole',
      'ClinicWa-Stateful/Events/Recorder/PairingSecrets',
      'ClinicWa-Stateful/Events/Recorder/UndeliveredEvents',
      'ClinicWa-Stateful/Events/Webhooks/PairingSecrets',
      'ClinicWa-Stateful/Events/Webhooks/UndeliveredEvents',
      'ClinicWa-Stateful/Media/AccessLogs',
    ]);
    for (const construct of acknowledgedAt) {
      expect(Stack.isStack(construct) || construct === app).toBe(false);
    }
  });
});
