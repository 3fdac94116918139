// One of our Lambda functions with the platform's defaults: the project's Node runtime on arm64, an
// ESM bundle made by the local esbuild (no Docker), X-Ray tracing, a log group with a retention, a
// role of its own with no managed policy (its grants are exactly what `bind…` calls add), and the
// Powertools settings of `shared/observability.ts`.
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import { LAMBDA_NODE_RUNTIME } from '../node-version.ts';
import {
  BOUND_ONLY_KEYS,
  type RuntimeConsumer,
  type RuntimeEnvironment,
  type RuntimeEnvironmentKey,
} from '../runtime-environment.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Lets CommonJS dependencies bundled into an ES module (`qrcode`, parts of the AWS SDK) call
 * `require` for Node's built-ins, which esbuild leaves to the runtime.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface PlatformFunctionProps {
  /** The module exporting the handler, relative to the repository root (`functions/tenants/handler.ts`). */
  readonly entry: string;
  /** The handler's export name; `handler` by default. */
  readonly handler?: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Lambda concurrency kept for this function alone, which is also its ceiling; none by default. */
  readonly reservedConcurrentExecutions?: number;
}

export class PlatformFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logs: LogGroup;
  /** The function's role and environment: what the stateful constructs' `bind…` take. */
  readonly consumer: RuntimeConsumer;
  private readonly boundKeys = new Set<RuntimeEnvironmentKey>();

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    this.logs = new LogGroup(this, 'Logs', { retention: RetentionDays.THREE_MONTHS });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `clinic-wa ${props.entry}`,
    });
    this.logs.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: props.handler ?? 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: LAMBDA_NODE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logs,
      tracing: Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // The tracer would otherwise put every handler's response into X-Ray as metadata: message
        // lists, QR codes and API keys are patient data or secrets.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        // File names and lines are what a stack trace needs; the sources would double the upload.
        sourcesContent: false,
        // The SDK versions the tests ran, not whichever the runtime ships this month.
        bundleAwsSDK: true,
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level ' +
        'permissions. Every other grant of this role names its resources.',
    });

    const fn = this.function;
    const boundKeys = this.boundKeys;
    this.consumer = {
      grantPrincipal: this.role,
      addEnvironment(key, value) {
        fn.addEnvironment(key, value);
        boundKeys.add(key);
      },
    };
  }

  /**
   * `shared/config.ts` reads the whole contract at cold start; the variables no `bind…` call has set
   * are added as bare names, with no access behind them, except those only a grant comes with
   * (`BOUND_ONLY_KEYS`).
   */
  completeEnvironment(environment: RuntimeEnvironment): void {
    for (const [key, value] of Object.entries(environment) as [RuntimeEnvironmentKey, string][]) {
      if (!this.boundKeys.has(key) && !BOUND_ONLY_KEYS.includes(key))
        this.function.addEnvironment(key, value);
    }
  }
}
