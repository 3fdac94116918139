// The API functions' code as `cdk synth` bundles it (the local esbuild, no Docker), loaded the way
// Lambda loads it: an ES module on the project's Node, with only the environment the stack gives the
// function. The other infra tests leave bundling off; this one pays for it once (a few seconds).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '#infra/constructs/platform-function.construct.ts';
import { API_STACK_NAME, createApp, definePlatform } from '#infra/platform-app.ts';
import { cfnId, fakeResourceValues, SynthesizedPlatform } from './support.ts';

interface BundledFunction {
  readonly name: string;
  readonly directory: string;
  readonly environment: Record<string, string>;
}

/** Imports the bundle in a fresh Node process and runs `script` with its `handler`; returns what it prints. */
function runBundle(fn: BundledFunction, script = 'console.log(typeof handler)'): string {
  const program = `const { handler } = await import(${JSON.stringify(join(fn.directory, 'index.mjs'))});\n${script}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
    // What Lambda would set, and nothing of this process's: a variable the stack forgot must fail here.
    env: { ...fn.environment, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: fn.name },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) {
    // Minified lines are long: the error and its first frames say enough.
    const tail = result.stderr
      .split('\n')
      .slice(-12)
      .map((line) => line.slice(0, 300));
    throw new Error(`${fn.name} failed (${result.status}):\n${tail.join('\n')}`);
  }
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

describe('the API functions’ bundles', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'clinic-wa-bundles-'));
  let functions: BundledFunction[];

  beforeAll(() => {
    const app = createApp({
      outdir,
      // Bundle this stack's functions, as `cdk synth` does; the runner's image context is staged anyway.
      context: { shardCount: 2, 'aws:cdk:bundling-stacks': [API_STACK_NAME] },
      builtinCloudFormationValidation: false,
      treeMetadata: false,
    });
    const { api } = definePlatform(app, { checks: false });
    const synthesized = new SynthesizedPlatform(app);
    const resources = synthesized.template(API_STACK_NAME).Resources;
    const fake = fakeResourceValues(synthesized);
    const nameOf = new Map(
      [...Object.entries(api.functions.families), ['authorizer', api.functions.authorizer] as const].map(
        ([name, fn]) => [cfnId(fn.function).replace(`${API_STACK_NAME}/`, ''), name],
      ),
    );
    functions = Object.entries(resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([id, resource]) => {
        const properties = resource.Properties as {
          Code: { S3Key: string };
          Environment: { Variables: Record<string, unknown> };
        };
        return {
          name: nameOf.get(id) ?? id,
          directory: join(outdir, `asset.${properties.Code.S3Key.replace(/\.zip$/, '')}`),
          environment: Object.fromEntries(
            Object.entries(properties.Environment.Variables).map(([key, value]) => [
              key,
              synthesized.resolve(value, API_STACK_NAME, fake),
            ]),
          ),
        };
      });
  }, 180_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('are one ES module each, with the createRequire banner, the AWS SDK inside and a source map beside', () => {
    expect(functions.map((fn) => fn.name).sort()).toEqual([
      'admin',
      'authorizer',
      'channels',
      'messages',
      'public',
      'tenants',
      'webhooks',
    ]);
    for (const fn of functions) {
      expect(readdirSync(fn.directory).sort(), fn.name).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(fn.directory, 'index.mjs'), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER), fn.name).toBe(true);
      expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map'), fn.name).toBe(true);
      const map = JSON.parse(readFileSync(join(fn.directory, 'index.mjs.map'), 'utf8'));
      expect(map.sourcesContent, fn.name).toBeUndefined();
      const sources = map.sources as string[];
      expect(sources.some((source) => source.endsWith(`functions/${fn.name}/handler.ts`))).toBe(true);
      // The SDK version the tests ran, not the runtime's (all but the public function build the platform).
      if (fn.name !== 'public') {
        expect(sources.some((source) => source.includes('node_modules/@aws-sdk/client-dynamodb/'))).toBe(
          true,
        );
      }
    }
  });

  // The bundles sit in a temporary directory, outside the repository: a package left out of one could
  // not be found in node_modules, as it could not in Lambda.
  // A Node process per function, each loading a bundle of megabytes: seconds on a busy machine.
  it('load on the project’s Node with exactly the environment the stack gives each function', () => {
    for (const fn of functions) expect(runBundle(fn), fn.name).toBe('function');
  }, 60_000);

  it('answer a request: the public function’s GET /health through the bundled router, tracer and metrics', () => {
    const publicFunction = functions.find((fn) => fn.name === 'public');
    if (!publicFunction) throw new Error('no public function');
    const event = {
      httpMethod: 'GET',
      path: '/health',
      resource: '/health',
      headers: { accept: 'application/json' },
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: { requestId: 'req-1', stage: 'prod', httpMethod: 'GET', resourcePath: '/health' },
    };
    const context = `{ functionName: 'public', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10000 }`;
    const answer = runBundle(
      publicFunction,
      `const response = await handler(${JSON.stringify(event)}, ${context});\n` +
        'console.log(JSON.stringify({ statusCode: response.statusCode, body: response.body }));',
    );
    expect(JSON.parse(answer)).toEqual({ statusCode: 200, body: JSON.stringify({ status: 'ok' }) });
  });
});
