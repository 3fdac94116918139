import { beforeAll, describe, expect, it } from 'vitest';
import { webhookSecretConditions } from '#infra/constructs/webhook-secret-key.construct.ts';
import { STATEFUL_STACK_NAME } from '#infra/platform-app.ts';
import { webhookSecretContext } from '#shared/aws/kms-webhook-secret-cipher.ts';
import { newId } from '#shared/domain/ids.ts';
import { type IamGrant, iamGrants, principalsAllowed } from './iam-grants.ts';
import { cfnId, platform, SynthesizedPlatform } from './support.ts';

// The KMS key that seals webhook signing secrets, read from the whole synthesized platform: who may
// use it for what, on which condition, and who is told of it.

type Condition = Record<string, Record<string, string | string[]>>;

/**
 * Whether an IAM condition block of these operators holds for a KMS call with `context`: the
 * operators the grants and the key policy use, as IAM evaluates them for encryption contexts.
 */
function holds(condition: Condition, context: Record<string, string>): boolean {
  const contextKey = (key: string) => key.replace(/^kms:EncryptionContext:/, '');
  return Object.entries(condition).every(([operator, entries]) =>
    Object.entries(entries).every(([key, expected]) => {
      const values = [expected].flat();
      const value = context[contextKey(key)];
      switch (operator) {
        case 'StringEquals':
          return value !== undefined && values.includes(value);
        // A missing key does not equal anything: the negation holds.
        case 'StringNotEquals':
          return value === undefined || !values.includes(value);
        case 'ForAllValues:StringEquals':
          if (key !== 'kms:EncryptionContextKeys') throw new Error(`not evaluated: ${key}`);
          return Object.keys(context).every((name) => values.includes(name));
        case 'Null':
          return (value === undefined) === (values[0] === 'true');
        default:
          throw new Error(`not evaluated: ${operator}`);
      }
    }),
  );
}

describe('the webhook-secrets key', () => {
  let built: ReturnType<typeof platform>;
  let synthesized: SynthesizedPlatform;
  let grants: IamGrant[];
  let names: Map<string, string>;
  /** Every role of the platform that runs our code, by a readable name. */
  let roles: Map<string, string>;
  const named = (stack: string, id: string, attribute?: string) =>
    names.get(`${stack}/${id}`) ?? `${stack}/${id}${attribute ? `.${attribute}` : ''}`;
  const readable = (principals: readonly string[]) =>
    principals.map((principal) => roles.get(principal) ?? principal).sort();

  beforeAll(() => {
    built = platform({ shardCount: 2 });
    const { stateful, api, runner, consumers } = built;
    names = new Map([
      [cfnId(stateful.webhookSecretKey.key), 'webhook-secret-key'],
      [cfnId(stateful.sessionKey.key), 'session-key'],
      [cfnId(stateful.platformTable.table), 'platform-table'],
      [cfnId(stateful.sessionsTable.table), 'sessions-table'],
      [cfnId(stateful.idempotencyTable.table), 'idempotency-table'],
    ]);
    roles = new Map<string, string>([
      ...Object.entries(api.functions.families).map(([family, fn]): [string, string] => [
        cfnId(fn.role),
        family,
      ]),
      [cfnId(api.functions.authorizer.role), 'authorizer'],
      [cfnId(runner.runner.taskRole), 'runner-task'],
      [cfnId(consumers.recorder.function.role), 'recorder'],
      [cfnId(consumers.webhookDispatcher.fanOut.role), 'dispatcher-fan-out'],
      [cfnId(consumers.webhookDispatcher.delivery.role), 'dispatcher-delivery'],
    ]);
    synthesized = new SynthesizedPlatform(built.app);
    grants = iamGrants(synthesized, named);
  });

  const keyResource = () => {
    const [, id] = cfnId(built.stateful.webhookSecretKey.key).split('/');
    const resource = synthesized.template(STATEFUL_STACK_NAME).Resources[id ?? ''] as {
      Type: string;
      Properties: Record<string, unknown>;
      DeletionPolicy?: string;
    };
    return { id: id ?? '', resource };
  };
  const allowed = (action: string) =>
    readable(principalsAllowed(grants, [action], 'webhook-secret-key', [...names.values()]));

  it('is a key of its own, rotating, aliased, kept when the stack goes, not the session key', () => {
    const { id, resource } = keyResource();
    expect(resource).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 },
    });
    expect(cfnId(built.stateful.webhookSecretKey.key)).not.toBe(cfnId(built.stateful.sessionKey.key));
    const aliases = Object.values(synthesized.template(STATEFUL_STACK_NAME).Resources).filter(
      (candidate) => candidate.Type === 'AWS::KMS::Alias',
    );
    expect(aliases.map((alias) => alias.Properties)).toContainEqual({
      AliasName: 'alias/ClinicWa-Stateful/webhook-secrets',
      TargetKeyId: { 'Fn::GetAtt': [id, 'Arn'] },
    });
  });

  it('lets only the webhooks function encrypt, and only it and the dispatcher decrypt', () => {
    expect(allowed('kms:Encrypt')).toEqual(['webhooks']);
    expect(allowed('kms:Decrypt')).toEqual(['dispatcher-delivery', 'dispatcher-fan-out', 'webhooks']);
    for (const action of [
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
      'kms:CreateGrant',
      'kms:PutKeyPolicy',
      'kms:DisableKey',
      'kms:ScheduleKeyDeletion',
    ]) {
      expect(allowed(action), action).toEqual([]);
    }
    // The runner, the recorder and the API's other functions: no KMS action on it, not through a
    // wildcard either.
    for (const role of ['tenants', 'channels', 'messages', 'authorizer', 'runner-task', 'recorder']) {
      expect(allowed('kms:*').concat(allowed('kms:Decrypt')), role).not.toContain(role);
    }
  });

  it('allows each use only with a webhook’s context: the webhook-secret purpose, its tenant and webhook, nothing else', () => {
    const onKey = grants.filter((grant) => grant.resources.includes('webhook-secret-key'));
    expect(onKey.length).toBeGreaterThanOrEqual(3);
    for (const grant of onKey) {
      expect(grant.resources).toEqual(['webhook-secret-key']);
      expect(grant.condition).toEqual(webhookSecretConditions());
    }
    const condition = webhookSecretConditions() as Condition;
    const context = webhookSecretContext({ tenantId: newId('tenant'), webhookId: newId('webhook') });
    // What the adapter sends, and nothing short of it or beyond it.
    expect(holds(condition, context)).toBe(true);
    const { purpose: _, ...withoutPurpose } = context;
    const { webhookId: __, ...withoutWebhook } = context;
    const { tenantId: ___, ...withoutTenant } = context;
    for (const refused of [
      withoutPurpose,
      withoutWebhook,
      withoutTenant,
      { ...context, purpose: 'session' },
      { ...context, channelId: newId('channel') },
      {},
    ]) {
      expect(holds(condition, refused), JSON.stringify(refused)).toBe(false);
    }
  });

  it('refuses in its own policy any use without the webhook-secret purpose, whatever identity policies allow', () => {
    const policy = keyResource().resource.Properties.KeyPolicy as {
      Statement: { Effect: string; Principal: unknown; Action: string | string[]; Condition?: Condition }[];
    };
    // CDK's default: the account's IAM policies decide who may use the key (the grants above)…
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Allow', Action: 'kms:*', Resource: '*' });
    expect(JSON.stringify(policy.Statement[0]?.Principal)).toContain(':root');
    // …and no policy may use it but for a webhook's secret.
    const denials = policy.Statement.filter((statement) => statement.Effect === 'Deny');
    expect(policy.Statement).toHaveLength(2);
    expect(denials).toEqual([
      {
        Sid: 'OnlyForWebhookSecrets',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: '*',
        Condition: { StringNotEquals: { 'kms:EncryptionContext:purpose': 'webhook-secret' } },
      },
    ]);
    const denial = denials[0]?.Condition as Condition;
    const context = webhookSecretContext({ tenantId: newId('tenant'), webhookId: newId('webhook') });
    expect(holds(denial, context)).toBe(false);
    expect(holds(denial, { tenantId: context.tenantId, webhookId: context.webhookId })).toBe(true);
    expect(holds(denial, { ...context, purpose: 'anything-else' })).toBe(true);
  });

  it('leaves the platform table’s other readers a ciphertext they cannot open', () => {
    // A read whose grant lists the attributes it may return reads a secret only if `secrets` is one.
    const readsSecrets = grants.filter((grant) => {
      const listed = (
        grant.condition?.['ForAllValues:StringEquals'] as Record<string, string[]> | undefined
      )?.['dynamodb:Attributes'];
      return listed === undefined || listed.includes('secrets');
    });
    const readers = readable(
      principalsAllowed(
        readsSecrets,
        ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:Scan'],
        'platform-table',
        [...names.values()],
      ),
    );
    const openers = allowed('kms:Decrypt');
    expect(readers.filter((reader) => openers.includes(reader))).toEqual([
      'dispatcher-delivery',
      'dispatcher-fan-out',
      'webhooks',
    ]);
    // Able to read the item (sealed secrets), unable to open them; the recorder reads neither.
    expect(readers.filter((reader) => !openers.includes(reader))).toEqual(
      ['authorizer', 'channels', 'messages', 'runner-task', 'tenants'].sort(),
    );
  });

  it('is named to the functions that may use it, and to no other function or task', () => {
    const told: string[] = [];
    for (const [stack, template] of synthesized.templates) {
      for (const [id, resource] of Object.entries(template.Resources)) {
        const properties = resource.Properties as Record<string, unknown> | undefined;
        if (resource.Type === 'AWS::Lambda::Function') {
          const variables =
            (properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
          const role = (properties?.Role as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0];
          if ('WEBHOOK_SECRET_KEY_ARN' in variables) {
            told.push(roles.get(`${stack}/${role}`) ?? `${stack}/${id}`);
            expect(synthesized.resolve(variables.WEBHOOK_SECRET_KEY_ARN as never, stack, named)).toBe(
              'webhook-secret-key',
            );
          }
        }
        if (resource.Type === 'AWS::ECS::TaskDefinition') {
          const containers = properties?.ContainerDefinitions as { Environment?: { Name: string }[] }[];
          for (const container of containers) {
            expect((container.Environment ?? []).map((variable) => variable.Name)).not.toContain(
              'WEBHOOK_SECRET_KEY_ARN',
            );
          }
        }
      }
    }
    expect(told.sort()).toEqual(['dispatcher-delivery', 'dispatcher-fan-out', 'webhooks']);
  });
});
