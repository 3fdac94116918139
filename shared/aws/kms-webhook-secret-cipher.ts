// Webhook signing secrets sealed with KMS under the webhook-secrets key (infra/constructs/
// webhook-secret-key.construct.ts). A secret is 50 bytes, so KMS encrypts it directly (no data key):
// the ciphertext is all that is kept. Every call names the secret's owner in the encryption context,
// which KMS binds to the ciphertext: one copied to another webhook or tenant does not decrypt, and
// CloudTrail shows whose secret each call was. The key's grants and its key policy require this very
// context (`purpose` first), so the key is of no use for anything else.
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { WebhookSecretCipher, WebhookSecretOwner } from '../ports.ts';

/** The `purpose` of every call's encryption context: what the key policy and grants require. */
export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';
/** The encryption-context keys of every call, and the only ones: the grants allow no other. */
export const WEBHOOK_SECRET_CONTEXT_KEYS = ['purpose', 'tenantId', 'webhookId'] as const;

export function webhookSecretContext(
  owner: WebhookSecretOwner,
): Record<(typeof WEBHOOK_SECRET_CONTEXT_KEYS)[number], string> {
  return { purpose: WEBHOOK_SECRET_PURPOSE, tenantId: owner.tenantId, webhookId: owner.webhookId };
}

export class KmsWebhookSecretCipher implements WebhookSecretCipher {
  constructor(
    private readonly kms: KMSClient,
    /** The key's ARN (`WEBHOOK_SECRET_KEY_ARN`): decryption is pinned to it too. */
    private readonly keyArn: string,
  ) {}

  async seal(owner: WebhookSecretOwner, secret: string): Promise<string> {
    const plaintext = Buffer.from(secret, 'utf8');
    try {
      const result = await this.kms.send(
        new EncryptCommand({
          KeyId: this.keyArn,
          Plaintext: plaintext,
          EncryptionContext: webhookSecretContext(owner),
        }),
      );
      if (!result.CiphertextBlob) throw new Error('KMS Encrypt returned no ciphertext');
      return Buffer.from(result.CiphertextBlob).toString('base64');
    } finally {
      plaintext.fill(0);
    }
  }

  /** Fails (KMS `InvalidCiphertextException`) unless `owner` is the one the secret was sealed for. */
  async open(owner: WebhookSecretOwner, sealed: string): Promise<string> {
    const result = await this.kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(sealed, 'base64'),
        // A ciphertext of any other key of the account is refused, not decrypted under that key.
        KeyId: this.keyArn,
        EncryptionContext: webhookSecretContext(owner),
      }),
    );
    if (!result.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    try {
      return Buffer.from(result.Plaintext).toString('utf8');
    } finally {
      result.Plaintext.fill(0);
    }
  }
}
