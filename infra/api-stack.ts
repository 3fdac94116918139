// The clinics' HTTPS API: the REST API (infra/constructs/public-api.construct.ts), the web ACL in
// front of it (api-firewall.construct.ts), its Lambda functions and the admin key, given exactly the
// stateful resources each function uses through the constructs' `bind…` methods. Stateless: it can
// be destroyed and redeployed; what the functions read and write lives in the stateful stack.
import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CHANNEL_DIRECTORY_ATTRIBUTES } from '#shared/aws/dynamo/channel-directory.ts';
import { GSI1 } from '#shared/aws/dynamo/platform-keys.ts';
import {
  SHARD_OWNERSHIP_ATTRIBUTES,
  shardOwnershipPartitions,
} from '#shared/aws/dynamo/shard-ownership-reader.ts';
import { AdminKey } from './constructs/admin-key.construct.ts';
import { ApiAlarms } from './constructs/api-alarms.construct.ts';
import {
  ApiFirewall,
  DEFAULT_FIREWALL_RATE_WINDOW,
  type FirewallRateWindow,
} from './constructs/api-firewall.construct.ts';
import { ApiFunctions } from './constructs/api-functions.construct.ts';
import { mediaObjectsFinding } from './constructs/media-bucket.construct.ts';
import { PublicApi } from './constructs/public-api.construct.ts';
import { RUNNER_CLUSTER } from './runner-stack.ts';
import type { StatefulStack } from './stateful-stack.ts';

export const API_URL_OUTPUT = 'ApiUrl';
export const ADMIN_KEY_SECRET_OUTPUT = 'AdminKeySecretArn';

export interface ApiStackProps extends StackProps {
  readonly stateful: StatefulStack;
  /** Lambda concurrency reserved for the authorizer; none when undefined (docs/infra.md says why). */
  readonly authorizerReservedConcurrency?: number;
  /** The web ACL's per-address rate window, in seconds (docs/infra.md, "The web ACL"). */
  readonly firewallRateWindowSeconds?: FirewallRateWindow;
}

export class ApiStack extends Stack {
  readonly functions: ApiFunctions;
  readonly adminKey: AdminKey;
  readonly api: PublicApi;
  readonly firewall: ApiFirewall;
  readonly alarms: ApiAlarms;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { stateful } = props;

    this.functions = new ApiFunctions(this, 'Functions', {
      authorizerReservedConcurrency: props.authorizerReservedConcurrency,
    });
    this.adminKey = new AdminKey(this, 'AdminKey');
    const { tenants, admin, channels, messages, webhooks } = this.functions.families;
    const { authorizer } = this.functions;

    // What each function does, one grant each (docs/infra.md has the table). The public function
    // (liveness, OpenAPI, docs) gets nothing, not even the contract's variables: it reads no data.
    stateful.platformTable.bindReadWrite(tenants.consumer);
    stateful.idempotencyTable.bindReadWrite(tenants.consumer);
    for (const commandIssuer of [channels, messages]) {
      stateful.platformTable.bindReadWrite(commandIssuer.consumer);
      stateful.idempotencyTable.bindReadWrite(commandIssuer.consumer);
      stateful.commandQueues.bindSend(commandIssuer.consumer);
    }
    // Webhooks: their items and deliveries, and queuing a delivery for the dispatcher (no command
    // queue, no media, no event bus: a test event goes to its one webhook, not to every consumer);
    // sealing new secrets with the webhook-secrets key, and opening one for a replayed creation.
    stateful.platformTable.bindReadWrite(webhooks.consumer);
    stateful.idempotencyTable.bindReadWrite(webhooks.consumer);
    stateful.webhookDeliveries.bindSend(webhooks.consumer);
    stateful.webhookSecretKey.bindSealAndOpen(webhooks.consumer);
    stateful.media.bindPutAndGetObjects(messages.consumer);
    Validations.of(messages.role).acknowledge({
      id: mediaObjectsFinding(stateful.stackName),
      reason:
        'Media objects are keyed by tenant and media id, created at run time: the messages function puts and ' +
        'gets any object of the media bucket (no delete; it may list only keys under media/, so a missing file ' +
        'is a 404), and nothing of any other bucket.',
    });
    // The operator's views read, and only read: channels' public attributes across tenants (their
    // partitions and the shards' lists), and the runners' lease and membership items (their
    // partitions of the sessions table, their bookkeeping attributes: no session item, and through
    // DynamoDB only, the session key decrypts nothing else for it). docs/infra.md, "IAM".
    stateful.platformTable.bindProjectedQuery(admin.consumer, {
      attributes: CHANNEL_DIRECTORY_ATTRIBUTES,
      indexes: [GSI1],
    });
    stateful.sessionsTable.bindProjectedQuery(admin.consumer, {
      attributes: SHARD_OWNERSHIP_ATTRIBUTES,
      partitions: shardOwnershipPartitions(RUNNER_CLUSTER),
    });
    admin.function.addEnvironment('RUNNER_CLUSTER', RUNNER_CLUSTER);
    // Authenticating a key is two GetItems (the key's item, then its tenant's): nothing else.
    stateful.platformTable.bindGetItem(authorizer.consumer);
    this.adminKey.bindRead(authorizer.function);
    for (const fn of [tenants, admin, channels, messages, webhooks, authorizer]) {
      fn.completeEnvironment(stateful.runtimeEnvironment());
    }

    this.api = new PublicApi(this, 'Api', {
      handlers: this.functions.handlers,
      authorizer: authorizer.function,
    });

    this.firewall = new ApiFirewall(this, 'Firewall', {
      stage: this.api.api.deploymentStage,
      rateWindowSeconds: props.firewallRateWindowSeconds ?? DEFAULT_FIREWALL_RATE_WINDOW,
    });

    this.alarms = new ApiAlarms(this, 'Alarms', {
      stage: this.api.api.deploymentStage,
      functions: this.functions,
      firewall: this.firewall,
    });

    new CfnOutput(this, API_URL_OUTPUT, {
      description: 'The API’s base URL (the stage’s), e.g. <url>v1/channels',
      value: this.api.url,
    });
    new CfnOutput(this, ADMIN_KEY_SECRET_OUTPUT, {
      description:
        'The secret holding the admin API key (aws secretsmanager get-secret-value --secret-id <arn>)',
      value: this.adminKey.secretArn,
    });
  }
}
