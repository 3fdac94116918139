// The KMS key under which runners wrap each channel's data key (envelope encryption of Baileys
// creds and Signal keys). Every use must name the channel in the encryption context, so a data key
// sealed for one channel cannot be unwrapped as another's, and CloudTrail shows whose it was.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { RuntimeConsumer } from '../runtime-environment.ts';

/** The encryption-context keys the runner sends (`runner/auth/envelope.ts`). */
export const SESSION_ENCRYPTION_CONTEXT_KEYS = ['tenantId', 'channelId'] as const;

export class SessionKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'clinic-wa: wraps per-channel data keys of WhatsApp sessions',
      enableKeyRotation: true,
      alias: `alias/${Stack.of(this).stackName}/sessions`,
      // Deleting the key would make every stored session unreadable: keep it, and if it is ever
      // scheduled for deletion, leave the longest window to cancel.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  /** Data keys only, and only with a complete channel context: what a runner needs, nothing more. */
  grantEnvelopeEncryption(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions: {
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...SESSION_ENCRYPTION_CONTEXT_KEYS] },
        Null: Object.fromEntries(
          SESSION_ENCRYPTION_CONTEXT_KEYS.map((key) => [`kms:EncryptionContext:${key}`, 'false']),
        ),
      },
    });
  }

  bindEnvelopeEncryption(consumer: RuntimeConsumer): void {
    this.grantEnvelopeEncryption(consumer);
    consumer.addEnvironment('SESSION_KEY_ARN', this.keyArn);
  }
}
