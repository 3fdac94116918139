import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

export const kmsKey: ResourceHandler = {
  properties: [
    'Description',
    'KeyPolicy',
    'EnableKeyRotation',
    'RotationPeriodInDays', // not emulated: rotation is enabled, its schedule has no local meaning
    'PendingWindowInDays', // applies only when the key is scheduled for deletion
    'KeySpec',
    'KeyUsage',
    'Enabled',
    'MultiRegion',
    'Tags',
  ],
  async create({ properties, context }) {
    const { kms } = context.clients;
    const policy = properties.KeyPolicy;
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({
        Description: optionalString(properties, 'Description'),
        // The API takes the policy as a JSON string (moto breaks later on an object).
        Policy:
          policy === undefined ? undefined : typeof policy === 'string' ? policy : JSON.stringify(policy),
        KeySpec: properties.KeySpec as 'SYMMETRIC_DEFAULT' | undefined,
        KeyUsage: properties.KeyUsage as 'ENCRYPT_DECRYPT' | undefined,
        MultiRegion: properties.MultiRegion as boolean | undefined,
      }),
    );
    if (!KeyMetadata?.KeyId || !KeyMetadata.Arn) throw new Error('CreateKey returned no key');
    if (properties.EnableKeyRotation === true || properties.EnableKeyRotation === 'true') {
      await kms.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata.KeyId }));
    }
    return {
      physicalId: KeyMetadata.Arn,
      ref: KeyMetadata.KeyId,
      attributes: { Arn: KeyMetadata.Arn, KeyId: KeyMetadata.KeyId },
    };
  },
};

export const kmsAlias: ResourceHandler = {
  properties: ['AliasName', 'TargetKeyId'],
  async create({ properties, context }) {
    const { kms } = context.clients;
    const aliasName = String(properties.AliasName);
    const targetKeyId = String(properties.TargetKeyId);
    try {
      await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
    } catch (error) {
      // A persistent emulator keeps the alias of an earlier run: point it at this run's key.
      if (!isAwsError(error, 'AlreadyExistsException')) throw error;
      await kms.send(new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
    }
    return { physicalId: aliasName, ref: aliasName, attributes: {} };
  },
};
