// The KMS key that seals webhook signing secrets (shared/aws/kms-webhook-secret-cipher.ts): each
// secret is encrypted with the context { purpose: 'webhook-secret', tenantId, webhookId }, so a
// ciphertext opens for its own webhook only, and the platform table keeps ciphertext that the roles
// reading it (the API functions, the authorizer, the runner, operators) cannot open. Only the webhooks
// function may encrypt (a new or rotated secret) and decrypt (a replayed creation's answer); only the
// dispatcher may decrypt (to sign). Its own key, not the session key: no role needs both.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  WEBHOOK_SECRET_CONTEXT_KEYS,
  WEBHOOK_SECRET_PURPOSE,
} from '#shared/aws/kms-webhook-secret-cipher.ts';
import type { RuntimeConsumer } from '../runtime-environment.ts';

/** The key's cryptographic operations, every one refused without the webhook-secret purpose. */
export const WEBHOOK_SECRET_KEY_DATA_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
] as const;

/**
 * A use of the key for a webhook's secret, and nothing else: the purpose, a tenant and a webhook
 * named, and no other context key (one more would make a ciphertext that the grants' own calls could
 * not open, and a context of another shape another use of the key).
 */
export function webhookSecretConditions(): Record<string, Record<string, unknown>> {
  const owner = WEBHOOK_SECRET_CONTEXT_KEYS.filter((key) => key !== 'purpose');
  return {
    StringEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE },
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...WEBHOOK_SECRET_CONTEXT_KEYS] },
    Null: Object.fromEntries(owner.map((key) => [`kms:EncryptionContext:${key}`, 'false'])),
  };
}

export class WebhookSecretKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'clinic-wa: seals webhook signing secrets, each for its tenant and webhook',
      enableKeyRotation: true,
      alias: `alias/${Stack.of(this).stackName}/webhook-secrets`,
      // Deleting the key would leave every webhook unable to sign: keep it, and if it is ever
      // scheduled for deletion, leave the longest window to cancel.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    // Whatever an identity policy allows (an operator's kms:* on every key, say), this key encrypts
    // and decrypts only with the webhook-secret purpose in the context.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyForWebhookSecrets',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: [...WEBHOOK_SECRET_KEY_DATA_ACTIONS],
        resources: ['*'],
        conditions: { StringNotEquals: { 'kms:EncryptionContext:purpose': WEBHOOK_SECRET_PURPOSE } },
      }),
    );
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /** Sealing new secrets and opening them again: the webhooks function (create, rotate, a replay). */
  grantSealAndOpen(grantee: IGrantable): Grant {
    return this.grant(grantee, ['kms:Encrypt', 'kms:Decrypt']);
  }

  /** Opening secrets only: the dispatcher, which signs with them. */
  grantOpen(grantee: IGrantable): Grant {
    return this.grant(grantee, ['kms:Decrypt']);
  }

  bindSealAndOpen(consumer: RuntimeConsumer): void {
    this.grantSealAndOpen(consumer);
    consumer.addEnvironment('WEBHOOK_SECRET_KEY_ARN', this.keyArn);
  }

  bindOpen(consumer: RuntimeConsumer): void {
    this.grantOpen(consumer);
    consumer.addEnvironment('WEBHOOK_SECRET_KEY_ARN', this.keyArn);
  }

  private grant(grantee: IGrantable, actions: string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.key.keyArn],
      conditions: webhookSecretConditions(),
    });
  }
}
