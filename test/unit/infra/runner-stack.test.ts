import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Grant, type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEALTH_PROBE, SESSIONS_METRIC } from '#infra/constructs/runner-service.construct.ts';
import { RUNNER_NODE_IMAGE } from '#infra/node-version.ts';
import {
  createApp,
  DEFAULT_RUNNER_SCALING,
  RUNNER_STACK_NAME,
  runnerScalingOf,
  STATEFUL_STACK_NAME,
} from '#infra/platform-app.ts';
import { RUNNER_CLUSTER } from '#infra/runner-stack.ts';
import {
  BOUND_ONLY_KEYS,
  parseRuntimeEnvironment,
  RUNTIME_ENVIRONMENT_KEYS,
} from '#infra/runtime-environment.ts';
import { sessionPk } from '#runner/auth/key-layout.ts';
import { loadRunnerConfig } from '#runner/config.ts';
import { RunnerMetrics } from '#runner/runner-metrics.ts';
import { leaseKey, membershipPartition } from '#shared/aws/dynamo/fence-check.ts';
import { loadAwsConfig, loadResourceConfig } from '#shared/config.ts';
import { newId } from '#shared/domain/ids.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/observability.ts';
import { type IamGrant, iamGrants, principalsAllowed, stringLike } from './iam-grants.ts';
import { cfnId, fakeResourceValues, platform, SynthesizedPlatform } from './support.ts';

const SHARDS = 4;

/** What a SIGTERM'd, scaled, least-privileged runner needs, read off the synthesized templates. */
describe('runner stack', () => {
  let built: ReturnType<typeof platform>;
  let synthesized: SynthesizedPlatform;
  let template: Template;
  /** `<stack>/<logical id>` → a readable name, for the resources the runner is given. */
  let names: Map<string, string>;
  const named = (stack: string, id: string, attribute?: string) =>
    names.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`;
  let taskRole: string;
  let executionRole: string;

  beforeAll(() => {
    built = platform({ shardCount: SHARDS });
    const { stateful, runner } = built;
    names = new Map([
      [cfnId(stateful.platformTable.table), 'platform-table'],
      [cfnId(stateful.sessionsTable.table), 'sessions-table'],
      [cfnId(stateful.idempotencyTable.table), 'idempotency-table'],
      [cfnId(stateful.sessionKey.key), 'session-key'],
      [cfnId(stateful.events.bus), 'event-bus'],
      [cfnId(stateful.events.recorder.queue.queue), 'recorder-queue'],
      [cfnId(stateful.events.webhooks.queue.queue), 'webhook-queue'],
      [cfnId(stateful.media.bucket), 'media-bucket'],
      [cfnId(runner.runner.logs), 'runner-logs'],
      ...stateful.commandQueues.shards.flatMap((shard, index): [string, string][] => [
        [cfnId(shard.queue), `shard-${index}-queue`],
        [cfnId(shard.deadLetterQueue), `shard-${index}-dlq`],
      ]),
    ]);
    taskRole = cfnId(runner.runner.taskRole);
    executionRole = cfnId(runner.runner.taskDefinition.executionRole as IRole);
    synthesized = new SynthesizedPlatform(built.app);
    template = Template.fromJSON(synthesized.template(RUNNER_STACK_NAME));
  });

  const logicalIds = (type: string, properties: Record<string, unknown> = {}) =>
    Object.keys(template.findResources(type, { Properties: properties }));
  const containerOf = () => {
    const taskDefinitions = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(taskDefinitions).toHaveLength(1);
    const containers = taskDefinitions[0]?.Properties.ContainerDefinitions as Record<string, unknown>[];
    expect(containers).toHaveLength(1);
    return containers[0] as Record<string, unknown> & { Environment: { Name: string; Value: unknown }[] };
  };

  it('runs one essential container on ARM64 Fargate, with 120 s to hand over after SIGTERM and the health check', () => {
    const [logsId] = logicalIds('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
      KmsKeyId: Match.absent(),
    }).filter((id) => names.get(`${RUNNER_STACK_NAME}/${id}`) === 'runner-logs');
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: '1024',
      Memory: '4096',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Essential: true,
          StopTimeout: 120,
          LinuxParameters: { InitProcessEnabled: true },
          HealthCheck: {
            Command: ['CMD', 'node', '-e', HEALTH_PROBE],
            Interval: 30,
            Timeout: 5,
            Retries: 3,
            StartPeriod: 60,
          },
          PortMappings: Match.absent(),
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: Match.objectLike({
              'awslogs-group': { Ref: logsId },
              'awslogs-stream-prefix': 'runner',
              mode: 'non-blocking',
            }),
          },
        }),
      ],
    });
  });

  it('gives the container the whole contract but what comes with a grant only, the same resources as the stateful output, and a live runner config', () => {
    const fake = fakeResourceValues(synthesized);
    const environment = Object.fromEntries(
      containerOf().Environment.map(({ Name, Value }) => [
        Name,
        synthesized.resolve(Value, RUNNER_STACK_NAME, fake),
      ]),
    );
    // The runner may not use the webhook-secrets key, and is not told of it.
    const given = RUNTIME_ENVIRONMENT_KEYS.filter((key) => !BOUND_ONLY_KEYS.includes(key));
    expect(Object.keys(environment).sort()).toEqual(
      [
        ...given,
        'AWS_REGION',
        'COMMAND_VISIBILITY_TIMEOUT_SECONDS',
        'HEALTH_PORT',
        'LEASE_TTL_SECONDS',
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'RUNNER_CLUSTER',
        'STAGE',
        'WA_MODE',
      ].sort(),
    );
    const output = synthesized.template(STATEFUL_STACK_NAME).Outputs?.RuntimeEnvironment?.Value;
    const contract = parseRuntimeEnvironment(synthesized.resolve(output, STATEFUL_STACK_NAME, fake));
    expect(Object.fromEntries(given.map((key) => [key, environment[key]]))).toEqual(
      Object.fromEntries(given.map((key) => [key, contract[key]])),
    );

    expect(loadResourceConfig(environment)).toMatchObject({ shardCount: SHARDS });
    expect(loadResourceConfig(environment).commandQueueUrls).toHaveLength(SHARDS);
    expect(loadRunnerConfig(environment)).toMatchObject({
      cluster: 'main',
      leaseTtlMs: 30_000,
      commandVisibilityTimeoutSeconds: 30,
      healthPort: 8080,
      whatsapp: { mode: 'live' },
      printQrToTerminal: false,
    });
    // Real AWS: no endpoint override reaches the task.
    expect(loadAwsConfig(environment)).toEqual({
      region: 'us-east-1',
      endpoints: {
        dynamodb: undefined,
        sqs: undefined,
        kms: undefined,
        eventbridge: undefined,
        s3: undefined,
        cloudwatch: undefined,
      },
    });
    expect(environment).toMatchObject({ NODE_OPTIONS: '--max-old-space-size=3072', STAGE: 'prod' });
  });

  it('deploys new tasks before stopping old ones, rolls back a failing deployment, and keeps its count across deployments', () => {
    const [securityGroup] = logicalIds('AWS::EC2::SecurityGroup');
    const privateSubnets = Object.entries(template.findResources('AWS::EC2::Subnet'))
      .filter(([, subnet]) =>
        (subnet.Properties.Tags as { Key: string; Value: string }[]).some(
          (tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Private',
        ),
      )
      .map(([id]) => ({ Ref: id }));
    expect(privateSubnets).toHaveLength(2);
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      // Absent, so a deployment leaves the count to the autoscaler instead of resetting it.
      DesiredCount: Match.absent(),
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          SecurityGroups: [{ 'Fn::GetAtt': [securityGroup, 'GroupId'] }],
          Subnets: privateSubnets,
        },
      },
      EnableExecuteCommand: false,
      LoadBalancers: Match.absent(),
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('accepts no inbound traffic and sends only HTTPS out, from private subnets in two AZs behind a NAT each', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map(
      (r) => r.Type,
    );
    expect(types.filter((type) => type.startsWith('AWS::ElasticLoadBalancing'))).toEqual([]);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    for (const service of ['dynamodb', 's3']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      });
    }
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });

  it('scales between the context’s bounds on the average sessions each task reports', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 2,
      // cdk.json's 8, capped at the 4 shards: a fifth runner would hold nothing.
      MaxCapacity: 4,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 500,
        ScaleOutCooldown: 180,
        ScaleInCooldown: 900,
        CustomizedMetricSpecification: {
          Namespace: 'ClinicWA',
          MetricName: 'Sessions',
          Dimensions: [{ Name: 'service', Value: 'clinic-wa' }],
          Statistic: 'Average',
        },
      },
    });
  });

  it('stages the runner image for linux/arm64 from runner/Dockerfile with only what the image needs', () => {
    const manifest = JSON.parse(
      readFileSync(join(synthesized.directory, `${RUNNER_STACK_NAME}.assets.json`), 'utf8'),
    );
    const images = Object.entries(
      manifest.dockerImages as Record<string, { source: Record<string, string> }>,
    );
    expect(images).toHaveLength(1);
    const [[hash, image]] = images as [[string, { source: Record<string, string> }]];
    expect(image.source).toEqual({
      directory: `asset.${hash}`,
      dockerFile: 'runner/Dockerfile',
      dockerBuildArgs: { NODE_IMAGE: RUNNER_NODE_IMAGE },
      platform: 'linux/arm64',
    });
    expect(readdirSync(join(synthesized.directory, `asset.${hash}`)).sort()).toEqual([
      '.dockerignore',
      'package-lock.json',
      'package.json',
      'patches',
      'runner',
      'shared',
      'tsconfig.json',
    ]);
    expect(JSON.stringify(containerOf().Image)).toContain(hash);
  });

  describe('IAM', () => {
    let grants: IamGrant[];
    beforeAll(() => {
      grants = iamGrants(synthesized, named);
    });
    const describeGrants = (principal: string) =>
      grants
        .filter((grant) => grant.principal === principal)
        .flatMap((grant) =>
          grant.resources.map(
            (resource) =>
              `${resource}: ${[...grant.actions].sort().join(' ')}${grant.condition ? ` if ${Object.keys(grant.condition).join('+')}` : ''}`,
          ),
        )
        .sort();

    const SESSIONS_READ = [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:PartiQLSelect',
      'dynamodb:ExportTableToPointInTime',
    ];
    /** Decrypt, or what leads to it: re-encrypting under another key, grants, the key policy. */
    const KEY_DECRYPT = ['kms:Decrypt', 'kms:ReEncryptFrom', 'kms:CreateGrant', 'kms:PutKeyPolicy'];

    it('only the runner task role reads sessions or decrypts with the session key, in any stack', () => {
      const everything = [...names.values()];
      // Besides the runner, the API's admin function, the operator's view of runners: it may read the
      // lease and membership partitions, never a session's (api-stack.test.ts holds the whole grant).
      const adminRole = cfnId(built.api.functions.families.admin.role);
      expect(principalsAllowed(grants, SESSIONS_READ, 'sessions-table', everything)).toEqual(
        [adminRole, taskRole].sort(),
      );
      expect(principalsAllowed(grants, KEY_DECRYPT, 'session-key', everything)).toEqual(
        [adminRole, taskRole].sort(),
      );
      const adminReads = grants.filter(
        (grant) => grant.principal === adminRole && grant.resources.includes('sessions-table'),
      );
      expect(adminReads.map((grant) => grant.actions)).toEqual([['dynamodb:Query']]);
      const leading = adminReads[0]?.condition?.['ForAllValues:StringLike'] as
        | Record<string, string[]>
        | undefined;
      const partitions = leading?.['dynamodb:LeadingKeys'] ?? [];
      expect(partitions.length).toBeGreaterThan(0);
      const reachable = (pk: string) => partitions.some((pattern) => stringLike(pattern, pk));
      expect(reachable(sessionPk({ tenantId: newId('tenant'), channelId: newId('channel') }))).toBe(false);
      expect(reachable(leaseKey(3, RUNNER_CLUSTER).pk)).toBe(true);
      expect(reachable(membershipPartition(RUNNER_CLUSTER))).toBe(true);
      expect(reachable(leaseKey(3, 'another-cluster').pk)).toBe(false);
      // The key, through DynamoDB only (kms:ViaService): no direct Decrypt of a channel's data key.
      const adminKeyUse = grants.filter(
        (grant) => grant.principal === adminRole && grant.resources.includes('session-key'),
      );
      expect(adminKeyUse.map((grant) => Object.keys(grant.condition ?? {}))).toEqual([['StringEquals']]);
      // The key policy only hands the key to IAM (the account), where the policies above decide.
      const [key] = Object.values(
        synthesized.template(STATEFUL_STACK_NAME).Resources as Record<
          string,
          { Type: string; Properties: { KeyPolicy: { Statement: { Principal: unknown }[] } } }
        >,
      ).filter((resource) => resource.Type === 'AWS::KMS::Key');
      expect(
        key?.Properties.KeyPolicy.Statement.map((statement) =>
          synthesized.resolve((statement.Principal as { AWS: unknown }).AWS, STATEFUL_STACK_NAME, named),
        ),
      ).toEqual(['arn:aws:iam::123456789012:root']);
    });

    it('would notice another reader: a second role bound to the table, and a kms:* on *', () => {
      const intruded = platform({ shardCount: 2 });
      const reader = new Role(intruded.runner, 'Reader', {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      });
      intruded.stateful.sessionsTable.bindRead({ grantPrincipal: reader, addEnvironment: () => {} });
      const admin = new Role(new Stack(intruded.app, 'Other'), 'Admin', {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      });
      Grant.addToPrincipal({ grantee: admin, actions: ['kms:*'], resourceArns: ['*'] });
      const otherGrants = iamGrants(new SynthesizedPlatform(intruded.app), named);
      const everything = [...names.values()];
      const operatorView = cfnId(intruded.api.functions.families.admin.role);
      expect(principalsAllowed(otherGrants, SESSIONS_READ, 'sessions-table', everything)).toEqual(
        [operatorView, cfnId(intruded.runner.runner.taskRole), cfnId(reader)].sort(),
      );
      // Reading the table brings the key's use through DynamoDB: the reader is reported there too.
      expect(principalsAllowed(otherGrants, KEY_DECRYPT, 'session-key', everything)).toEqual(
        [cfnId(admin), operatorView, cfnId(intruded.runner.runner.taskRole), cfnId(reader)].sort(),
      );
    });

    it('gives the task role exactly what the runner does, and nothing of the idempotency table, event queues or DLQs', () => {
      const items = [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].join(' ');
      const consume = [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].join(' ');
      expect(describeGrants(taskRole)).toEqual(
        [
          `platform-table: ${items}`,
          `platform-table/index/gsi1: ${items}`,
          `platform-table/index/outbox: ${items}`,
          `sessions-table: ${items}`,
          // The sessions table's own encryption, usable only through DynamoDB.
          'session-key: kms:Decrypt kms:DescribeKey kms:Encrypt kms:GenerateDataKey kms:GenerateDataKeyWithoutPlaintext kms:ReEncryptFrom kms:ReEncryptTo if StringEquals',
          // Envelope encryption: data keys only, and only with a tenant and a channel in the context.
          'session-key: kms:Decrypt kms:GenerateDataKey if ForAllValues:StringEquals+Null',
          ...Array.from({ length: SHARDS }, (_, shard) => `shard-${shard}-queue: ${consume}`),
          'event-bus: events:PutEvents',
          'media-bucket/*: s3:AbortMultipartUpload s3:GetObject s3:PutObject',
          // A missing file is a 404, not a 403 (the command fails at once instead of retrying).
          'media-bucket: s3:ListBucket if StringLike',
        ].sort(),
      );
      const viaDynamo = grants.find(
        (grant) => grant.principal === taskRole && grant.condition && 'StringEquals' in grant.condition,
      );
      expect(
        synthesized.resolve(
          (viaDynamo?.condition?.StringEquals as Record<string, unknown> | undefined)?.['kms:ViaService'],
          RUNNER_STACK_NAME,
          named,
        ),
      ).toBe('dynamodb.us-east-1.amazonaws.com');
      const envelope = grants.find(
        (grant) => grant.principal === taskRole && grant.condition && 'Null' in grant.condition,
      );
      expect(envelope?.condition).toEqual({
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'channelId'] },
        Null: { 'kms:EncryptionContext:tenantId': 'false', 'kms:EncryptionContext:channelId': 'false' },
      });
    });

    it('gives the execution role the image pull and the log writes, nothing else', () => {
      expect(describeGrants(executionRole)).toEqual(
        [
          '*: ecr:GetAuthorizationToken',
          'arn:aws:ecr:us-east-1:123456789012:repository/cdk-hnb659fds-container-assets-123456789012-us-east-1: ecr:BatchCheckLayerAvailability ecr:BatchGetImage ecr:GetDownloadUrlForLayer',
          'runner-logs: logs:CreateLogStream logs:PutLogEvents',
        ].sort(),
      );
    });
  });
});

describe('runner scaling context', () => {
  const scalingOf = (context: Record<string, unknown>, shardCount = 16) =>
    runnerScalingOf(createApp({ context }), shardCount);

  it('defaults to cdk.json: at least 2 tasks, at most 8, 500 sessions per task', () => {
    expect(scalingOf({})).toEqual({ minTasks: 2, maxTasks: 8, targetSessionsPerTask: 500 });
    expect(DEFAULT_RUNNER_SCALING).toEqual({ minTasks: 2, maxTasks: 8, targetSessionsPerTask: 500 });
  });

  it('takes `-c` strings, caps the maximum at the shard count and refuses nonsense', () => {
    expect(
      scalingOf({ runnerMinTasks: '3', runnerMaxTasks: '6', runnerTargetSessionsPerTask: '400' }),
    ).toEqual({
      minTasks: 3,
      maxTasks: 6,
      targetSessionsPerTask: 400,
    });
    expect(scalingOf({ runnerMaxTasks: 32 }, 16).maxTasks).toBe(16);
    expect(() => scalingOf({ runnerMinTasks: 5 }, 4)).toThrow(/runnerMinTasks \(5\) exceeds/);
    expect(() => scalingOf({ runnerMaxTasks: 'lots' })).toThrow(/runnerMaxTasks must be a positive integer/);
    expect(() => scalingOf({ runnerTargetSessionsPerTask: 0 })).toThrow(/runnerTargetSessionsPerTask/);
  });
});

describe('the runner’s local-only settings', () => {
  const simulator = { WA_WEBSOCKET_URL: 'ws://127.0.0.1:7000/ws/chat', WA_TRUST_ROOT: 'AAAA' };

  it('refuses to synthesize a task definition that draws QR codes on stdout', () => {
    const tampered = platform({ shardCount: 2 });
    tampered.runner.runner.container.addEnvironment('PRINT_QR_TO_TERMINAL', 'true');
    expect(() => tampered.app.synth()).toThrow(
      /Runner\/Task\/Resource sets PRINT_QR_TO_TERMINAL, which is for local development/,
    );
  });

  it('are refused inside an ECS task, and taken locally', () => {
    const local = { ...simulator, PRINT_QR_TO_TERMINAL: 'true' };
    expect(loadRunnerConfig(local).printQrToTerminal).toBe(true);
    expect(loadRunnerConfig(simulator).printQrToTerminal).toBe(false);
    for (const ecs of [
      { AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE' },
      { AWS_EXECUTION_ENV: 'AWS_ECS_EC2' },
      { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' },
    ]) {
      expect(() => loadRunnerConfig({ ...local, ...ecs })).toThrow(
        /PRINT_QR_TO_TERMINAL: is for local development only, never in a deployed runner/,
      );
      expect(
        loadRunnerConfig({ ...simulator, ...ecs, PRINT_QR_TO_TERMINAL: 'false' }).printQrToTerminal,
      ).toBe(false);
    }
    expect(() => loadRunnerConfig({ ...simulator, PRINT_QR_TO_TERMINAL: 'yes' })).toThrow(
      /PRINT_QR_TO_TERMINAL/,
    );
  });
});

describe('the scaling metric', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is the gauge the runner publishes: EMF `Sessions` in the namespace, with exactly the service dimension', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    new RunnerMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME })).flush({
      open: 7,
      reconnecting: 2,
    });
    vi.restoreAllMocks();
    const documents = lines
      .flatMap((line) => line.split('\n'))
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const sessions = documents.find((document) =>
      document._aws.CloudWatchMetrics.some((set: { Metrics: { Name: string }[] }) =>
        set.Metrics.some((metric) => metric.Name === SESSIONS_METRIC.metricName),
      ),
    );
    expect(sessions._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: SESSIONS_METRIC.namespace,
        Dimensions: [Object.keys(SESSIONS_METRIC.dimensionsMap)],
        Metrics: [{ Name: SESSIONS_METRIC.metricName, Unit: 'Count' }],
      },
    ]);
    expect(sessions).toMatchObject({ ...SESSIONS_METRIC.dimensionsMap, [SESSIONS_METRIC.metricName]: 9 });
  });
});
