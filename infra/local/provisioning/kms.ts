import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  type KeyMetadata,
  type KMSClient,
  ListResourceTagsCommand,
  paginateListKeys,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

/**
 * A key has no name to find it by again: CloudFormation remembers its id in the stack, we tag it with
 * its stack and logical id. An emulator that kept its state (`npm start`'s saved moto state,
 * LocalStack's persistence) thus gets the key it already has — the one every stored data key is
 * wrapped with — instead of a new one.
 */
export const LOGICAL_ID_TAG = 'clinic-wa:logical-id';

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
  async create({ logicalId, properties, context }) {
    const { kms } = context.clients;
    const identity = `${context.stackName}/${logicalId}`;
    let key = await findTaggedKey(kms, identity);
    if (!key) {
      const policy = properties.KeyPolicy;
      const tags = (properties.Tags as { Key: string; Value: string }[] | undefined) ?? [];
      ({ KeyMetadata: key } = await kms.send(
        new CreateKeyCommand({
          Description: optionalString(properties, 'Description'),
          // The API takes the policy as a JSON string (moto breaks later on an object).
          Policy:
            policy === undefined ? undefined : typeof policy === 'string' ? policy : JSON.stringify(policy),
          KeySpec: properties.KeySpec as 'SYMMETRIC_DEFAULT' | undefined,
          KeyUsage: properties.KeyUsage as 'ENCRYPT_DECRYPT' | undefined,
          MultiRegion: properties.MultiRegion as boolean | undefined,
          Tags: [
            ...tags.map(({ Key, Value }) => ({ TagKey: Key, TagValue: Value })),
            { TagKey: LOGICAL_ID_TAG, TagValue: identity },
          ],
        }),
      ));
    }
    if (!key?.KeyId || !key.Arn) throw new Error('CreateKey returned no key');
    if (properties.EnableKeyRotation === true || properties.EnableKeyRotation === 'true') {
      await kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
    }
    return {
      physicalId: key.Arn,
      ref: key.KeyId,
      attributes: { Arn: key.Arn, KeyId: key.KeyId },
    };
  },
};

/** The usable key tagged `identity`, if the emulator has one (a key pending deletion is not). */
async function findTaggedKey(kms: KMSClient, identity: string): Promise<KeyMetadata | undefined> {
  for await (const page of paginateListKeys({ client: kms }, {})) {
    for (const { KeyId } of page.Keys ?? []) {
      const { Tags = [] } = await kms.send(new ListResourceTagsCommand({ KeyId }));
      if (!Tags.some((tag) => tag.TagKey === LOGICAL_ID_TAG && tag.TagValue === identity)) continue;
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId }));
      if (KeyMetadata?.KeyState === 'Enabled') return KeyMetadata;
    }
  }
  return undefined;
}

export const kmsAlias: ResourceHandler = {
  properties: ['AliasName', 'TargetKeyId'],
  async create({ properties, context }) {
    const { kms } = context.clients;
    const aliasName = String(properties.AliasName);
    const targetKeyId = String(properties.TargetKeyId);
    try {
      await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
    } catch (error) {
      // An emulator that kept its state has the alias already: point it at this run's key.
      if (!isAwsError(error, 'AlreadyExistsException')) throw error;
      await kms.send(new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
    }
    return { physicalId: aliasName, ref: aliasName, attributes: {} };
  },
};
