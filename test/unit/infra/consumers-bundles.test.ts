// The webhook dispatcher's code as `cdk synth` bundles it, loaded as Lambda loads it: an ES module
// on the project's Node with only the environment the stack gives the function, outside the
// repository (a package left out of the bundle could not be found). Like api-bundles.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMERS_STACK_NAME, createApp, definePlatform } from '#infra/platform-app.ts';
import { fakeResourceValues, SynthesizedPlatform } from './support.ts';

interface BundledFunction {
  readonly handler: string;
  readonly directory: string;
  readonly environment: Record<string, string>;
}

function runBundle(fn: BundledFunction, script: string): string {
  const program = `const module = await import(${JSON.stringify(join(fn.directory, 'index.mjs'))});\n${script}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
    env: {
      ...fn.environment,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: fn.handler,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      // No credentials, no endpoint: a call to AWS would fail the script, and none may be made.
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) {
    const tail = result.stderr
      .split('\n')
      .slice(-12)
      .map((line) => line.slice(0, 300));
    throw new Error(`${fn.handler} failed (${result.status}):\n${tail.join('\n')}`);
  }
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

describe('the webhook dispatcher’s bundle', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'clinic-wa-consumer-bundles-'));
  let functions: BundledFunction[];

  beforeAll(() => {
    const app = createApp({
      outdir,
      context: { shardCount: 2, 'aws:cdk:bundling-stacks': [CONSUMERS_STACK_NAME] },
      builtinCloudFormationValidation: false,
      treeMetadata: false,
    });
    definePlatform(app, { checks: false });
    const synthesized = new SynthesizedPlatform(app);
    const fake = fakeResourceValues(synthesized);
    functions = Object.values(synthesized.template(CONSUMERS_STACK_NAME).Resources)
      .filter(
        (resource) =>
          resource.Type === 'AWS::Lambda::Function' &&
          /^index\.(fanOut|delivery)Handler$/.test(String(resource.Properties?.Handler)),
      )
      .map((resource) => {
        const properties = resource.Properties as {
          Handler: string;
          Code: { S3Key: string };
          Environment: { Variables: Record<string, unknown> };
        };
        return {
          handler: properties.Handler.replace(/^index\./, ''),
          directory: join(outdir, `asset.${properties.Code.S3Key.replace(/\.zip$/, '')}`),
          environment: Object.fromEntries(
            Object.entries(properties.Environment.Variables).map(([key, value]) => [
              key,
              synthesized.resolve(value, CONSUMERS_STACK_NAME, fake),
            ]),
          ),
        };
      });
  }, 180_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('loads each handler and answers a batch: a record that is no job or event fails alone', () => {
    expect(functions.map((fn) => fn.handler).sort()).toEqual(['deliveryHandler', 'fanOutHandler']);
    const record = {
      messageId: 'm-1',
      receiptHandle: 'r-1',
      body: '{"not":"a job"}',
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:queue',
      awsRegion: 'us-east-1',
    };
    const context = `{ functionName: 'dispatcher', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10000 }`;
    for (const fn of functions) {
      const answer = runBundle(
        fn,
        `const response = await module.${fn.handler}({ Records: [${JSON.stringify(record)}] }, ${context});\n` +
          'console.log(JSON.stringify(response));',
      );
      expect(JSON.parse(answer), fn.handler).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    }
  });
});
