// Envelope encryption of a channel's session: KMS issues one AES-256 data key per channel under the
// sessions key, bound to the channel by the encryption context { tenantId, channelId }. Only the
// KMS-encrypted copy is stored; the plaintext lives in the runner's memory as a ChannelCipher.
// Deleting the stored copy (with the session's META item) makes the channel's data unreadable.
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ChannelCipher, type ChannelRef } from './channel-cipher.ts';

export interface SealedDataKey {
  readonly encryptedDataKey: Uint8Array;
  /** The KMS key that encrypted it (as KMS reports it: a key ARN). */
  readonly keyArn: string;
}

export interface ChannelKey extends SealedDataKey {
  readonly cipher: ChannelCipher;
}

export const encryptionContext = (channel: ChannelRef): Record<string, string> => ({
  tenantId: channel.tenantId,
  channelId: channel.channelId,
});

export async function generateChannelKey(
  kms: KMSClient,
  keyArn: string,
  channel: ChannelRef,
): Promise<ChannelKey> {
  const result = await kms.send(
    new GenerateDataKeyCommand({
      KeyId: keyArn,
      KeySpec: 'AES_256',
      EncryptionContext: encryptionContext(channel),
    }),
  );
  if (!result.Plaintext || !result.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
  return {
    cipher: cipherFrom(result.Plaintext, channel),
    encryptedDataKey: result.CiphertextBlob,
    keyArn: result.KeyId ?? keyArn,
  };
}

/** Fails (KMS InvalidCiphertextException) unless `channel` is the one the key was generated for. */
export async function openChannelKey(
  kms: KMSClient,
  sealed: SealedDataKey,
  channel: ChannelRef,
): Promise<ChannelCipher> {
  const result = await kms.send(
    new DecryptCommand({
      CiphertextBlob: sealed.encryptedDataKey,
      KeyId: sealed.keyArn,
      EncryptionContext: encryptionContext(channel),
    }),
  );
  if (!result.Plaintext) throw new Error('KMS Decrypt returned no key');
  return cipherFrom(result.Plaintext, channel);
}

function cipherFrom(plaintext: Uint8Array, channel: ChannelRef): ChannelCipher {
  try {
    return new ChannelCipher(plaintext, channel);
  } finally {
    plaintext.fill(0);
  }
}
