// The runner's ECS Fargate service: long-lived tasks that hold the WhatsApp sockets. Never called from
// outside (no load balancer, no inbound port); they lease shards, so a deployment or a scale-in is a
// SIGTERM hand-over and must leave runners to hand over to. Scaled on sessions per task.
import { Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { SubnetType } from 'aws-cdk-lib/aws-ec2';
import {
  AwsLogDriverMode,
  Cluster,
  type ContainerDefinition,
  type ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LinuxParameters,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  BOUND_ONLY_KEYS,
  type RuntimeConsumer,
  type RuntimeEnvironment,
  type RuntimeEnvironmentKey,
} from '../runtime-environment.ts';

/**
 * The runner's EMF gauge of sessions held by one task, published once a minute by each task
 * (`runner/runner-metrics.ts` under `shared/observability.ts`'s namespace and service). Its Average
 * over a minute is the sessions per task; a unit test holds it to what the runner emits.
 */
export const SESSIONS_METRIC = {
  namespace: 'ClinicWA',
  metricName: 'Sessions',
  dimensionsMap: { service: 'clinic-wa' },
} as const;

/** The health check, in the image (runner/Dockerfile's HEALTHCHECK) and in the task definition. */
export const HEALTH_PROBE =
  "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(4000)})" +
  '.then(r=>process.exit(r.ok?0:1),()=>process.exit(1))';

export const HEALTH_PORT = 8080;
/** Fargate's maximum: SIGTERM, then this long to drain and release the leases before SIGKILL. */
export const STOP_TIMEOUT = Duration.seconds(120);

export interface RunnerScaling {
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly targetSessionsPerTask: number;
}

export interface RunnerServiceProps {
  readonly vpc: IVpc;
  readonly securityGroup: ISecurityGroup;
  readonly image: ContainerImage;
  readonly scaling: RunnerScaling;
  /** The runner's own variables (runner/config.ts), beside the contract's. */
  readonly environment: Readonly<Record<string, string>>;
  /** Fargate CPU units; Node runs the sockets on one thread, so one vCPU is what a task uses. */
  readonly cpu?: number;
  /** ~2–3 MB a connected channel, and a survivor takes over a failed task's channels. */
  readonly memoryLimitMiB?: number;
}

export class RunnerService extends Construct {
  readonly cluster: Cluster;
  readonly logs: LogGroup;
  readonly taskDefinition: FargateTaskDefinition;
  readonly container: ContainerDefinition;
  readonly service: FargateService;
  /** The task role and the container's environment: what the stateful constructs' `bind…` take. */
  readonly consumer: RuntimeConsumer;
  private readonly boundKeys = new Set<RuntimeEnvironmentKey>();

  constructor(scope: Construct, id: string, props: RunnerServiceProps) {
    super(scope, id);
    const { minTasks, maxTasks, targetSessionsPerTask } = props.scaling;
    if (
      !(Number.isInteger(minTasks) && minTasks >= 1 && Number.isInteger(maxTasks) && maxTasks >= minTasks)
    ) {
      throw new Error(`runner tasks: need 1 <= min <= max, got min ${minTasks}, max ${maxTasks}`);
    }
    if (!(targetSessionsPerTask > 0)) {
      throw new Error(`runner target sessions per task must be positive, got ${targetSessionsPerTask}`);
    }
    const memoryLimitMiB = props.memoryLimitMiB ?? 4096;

    this.cluster = new Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    this.logs = new LogGroup(this, 'Logs', { retention: RetentionDays.THREE_MONTHS });

    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The variables are resource names, ARNs and URLs (the RuntimeEnvironment contract) and the runner’s ' +
        'settings, none of them secret; they change only with a deployment, which makes a new task definition anyway.',
    });
    this.container = this.taskDefinition.addContainer('Runner', {
      image: props.image,
      essential: true,
      // The root filesystem stays writable (no readonlyRootFilesystem): Baileys stages media uploads
      // in the OS temp dir, and whether a Fargate scratch volume is writable by a non-root user is
      // unverified here. The code is root-owned in the image and the process runs as `node`, so it
      // cannot change what it runs.
      readonlyRootFilesystem: false,
      // tini as PID 1: SIGTERM reaches node, and nothing is left a zombie.
      linuxParameters: new LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      stopTimeout: STOP_TIMEOUT,
      healthCheck: {
        command: ['CMD', 'node', '-e', HEALTH_PROBE],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      environment: {
        AWS_REGION: Stack.of(this).region,
        HEALTH_PORT: String(HEALTH_PORT),
        // Heap below the task's memory, leaving room for sockets' buffers and native memory.
        NODE_OPTIONS: `--max-old-space-size=${Math.floor(memoryLimitMiB * 0.75)}`,
        ...props.environment,
      },
      logging: LogDrivers.awsLogs({
        logGroup: this.logs,
        streamPrefix: 'runner',
        // A slow CloudWatch must not block stdout and with it the event loop (lease heartbeats).
        mode: AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });
    // The execution role pulls the image and writes the logs, nothing else (see the IAM test).
    const executionRole = this.taskDefinition.executionRole;
    if (executionRole) {
      Validations.of(executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken has no resource-level permissions; the image pull itself is limited to the asset repository.',
      });
    }

    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      assignPublicIp: false,
      // A deployment starts the new tasks before stopping old ones: runners are never all gone, and
      // the stopping ones hand their shards to running ones.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      enableExecuteCommand: false,
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleToTrackCustomMetric('SessionsPerTask', {
      metric: new Metric({ ...SESSIONS_METRIC, statistic: Stats.AVERAGE, period: Duration.minutes(1) }),
      targetValue: targetSessionsPerTask,
      // Out soon (a task near its memory is the risk); in slowly (every scale-in moves sessions).
      scaleOutCooldown: Duration.minutes(3),
      scaleInCooldown: Duration.minutes(15),
    });

    const container = this.container;
    const boundKeys = this.boundKeys;
    this.consumer = {
      grantPrincipal: this.taskDefinition.taskRole,
      addEnvironment(key, value) {
        container.addEnvironment(key, value);
        boundKeys.add(key);
      },
    };
  }

  get taskRole(): IRole {
    return this.taskDefinition.taskRole;
  }

  /**
   * `shared/config.ts` reads the whole contract at start-up; the variables no `bind…` call has set
   * are added as bare names, with no access behind them, except those only a grant comes with
   * (`BOUND_ONLY_KEYS`).
   */
  completeEnvironment(environment: RuntimeEnvironment): void {
    for (const [key, value] of Object.entries(environment) as [RuntimeEnvironmentKey, string][]) {
      if (!this.boundKeys.has(key) && !BOUND_ONLY_KEYS.includes(key))
        this.container.addEnvironment(key, value);
    }
  }
}
