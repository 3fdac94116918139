// The runner: its image (runner/Dockerfile), an egress-only network and the Fargate service, given
// exactly the stateful resources it uses through the constructs' `bind…` methods. Stateless: it can
// be destroyed and redeployed, the sessions and queues it works on live in the stateful stack.
import { fileURLToPath } from 'node:url';
import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { COMMAND_VISIBILITY_TIMEOUT } from './constructs/command-queues.construct.ts';
import { EgressOnlyNetwork } from './constructs/egress-only-network.construct.ts';
import { mediaObjectsFinding } from './constructs/media-bucket.construct.ts';
import { type RunnerScaling, RunnerService } from './constructs/runner-service.construct.ts';
import { RUNNER_NODE_IMAGE } from './node-version.ts';
import type { StatefulStack } from './stateful-stack.ts';

/** The build context: the repository root (the runner imports shared/), narrowed by .dockerignore. */
export const RUNNER_IMAGE_CONTEXT = fileURLToPath(new URL('..', import.meta.url));
export const RUNNER_DOCKERFILE = 'runner/Dockerfile';

/** The shard-lease namespace in the sessions table: every task of this service shares the shards. */
export const RUNNER_CLUSTER = 'main';
export const LEASE_TTL_SECONDS = 30;

export interface RunnerStackProps extends StackProps {
  readonly stateful: StatefulStack;
  readonly scaling: RunnerScaling;
}

export class RunnerStack extends Stack {
  readonly network: EgressOnlyNetwork;
  readonly runner: RunnerService;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { stateful } = props;

    this.network = new EgressOnlyNetwork(this, 'Network');
    this.runner = new RunnerService(this, 'Runner', {
      vpc: this.network.vpc,
      securityGroup: this.network.taskSecurityGroup,
      image: ContainerImage.fromAsset(RUNNER_IMAGE_CONTEXT, {
        file: RUNNER_DOCKERFILE,
        platform: Platform.LINUX_ARM64,
        buildArgs: { NODE_IMAGE: RUNNER_NODE_IMAGE },
      }),
      scaling: props.scaling,
      environment: {
        WA_MODE: 'live',
        RUNNER_CLUSTER,
        LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
        COMMAND_VISIBILITY_TIMEOUT_SECONDS: String(COMMAND_VISIBILITY_TIMEOUT.toSeconds()),
        STAGE: 'prod',
        LOG_LEVEL: 'INFO',
      },
    });

    // What the runner does, one grant each (docs/infra.md has the table).
    const consumer = this.runner.consumer;
    stateful.sessionsTable.bindReadWrite(consumer);
    stateful.sessionKey.bindEnvelopeEncryption(consumer);
    stateful.platformTable.bindReadWrite(consumer);
    stateful.commandQueues.bindConsume(consumer);
    stateful.events.bindPublish(consumer);
    stateful.media.bindPutAndGetObjects(consumer);
    this.runner.completeEnvironment(stateful.runtimeEnvironment());
    Validations.of(this.runner.taskRole).acknowledge({
      id: mediaObjectsFinding(stateful.stackName),
      reason:
        'Media objects are keyed by tenant and media id, created at run time: the runner puts and gets any ' +
        'object of the media bucket (no delete; it may list only keys under media/, so a missing file is a 404), ' +
        'and nothing of any other bucket.',
    });
  }
}
