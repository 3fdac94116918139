import {
  CreateBucketCommand,
  type LifecycleRule,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type ServerSideEncryptionRule,
} from '@aws-sdk/client-s3';
import { NAME_RULES, physicalName } from './physical-names.ts';
import { isAwsError, optionalString, type ResourceHandler } from './resource-handler.ts';

type Rule = Record<string, unknown>;

export const s3Bucket: ResourceHandler = {
  properties: [
    'BucketName',
    'BucketEncryption',
    'PublicAccessBlockConfiguration',
    'LifecycleConfiguration',
    'VersioningConfiguration',
    'OwnershipControls',
    // Not emulated: no access logs are written locally, and moto would want log-delivery ACLs.
    'LoggingConfiguration',
    'Tags',
  ],
  async create({ logicalId, properties, context }) {
    const { s3 } = context.clients;
    const bucket =
      optionalString(properties, 'BucketName') ??
      physicalName(context.stackName, logicalId, NAME_RULES.bucket);
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(context.region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: context.region as 'eu-west-1' } }),
        }),
      );
    } catch (error) {
      if (!isAwsError(error, 'BucketAlreadyOwnedByYou')) throw error;
    }
    const encryption = properties.BucketEncryption as
      | {
          ServerSideEncryptionConfiguration: {
            ServerSideEncryptionByDefault?: unknown;
            BucketKeyEnabled?: boolean;
          }[];
        }
      | undefined;
    const publicAccess = properties.PublicAccessBlockConfiguration as Record<string, boolean> | undefined;
    const lifecycle = properties.LifecycleConfiguration as { Rules: Rule[] } | undefined;
    const versioning = properties.VersioningConfiguration as { Status: 'Enabled' | 'Suspended' } | undefined;
    const ownership = properties.OwnershipControls as
      | { Rules: { ObjectOwnership: 'BucketOwnerEnforced' }[] }
      | undefined;
    await Promise.all([
      encryption &&
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: {
              Rules: encryption.ServerSideEncryptionConfiguration.map(
                (rule) =>
                  ({
                    ApplyServerSideEncryptionByDefault: rule.ServerSideEncryptionByDefault,
                    BucketKeyEnabled: rule.BucketKeyEnabled,
                  }) as ServerSideEncryptionRule,
              ),
            },
          }),
        ),
      publicAccess &&
        s3.send(
          new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: publicAccess }),
        ),
      lifecycle &&
        s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: { Rules: lifecycle.Rules.map((rule) => lifecycleRule(logicalId, rule)) },
          }),
        ),
      versioning &&
        s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: versioning })),
      ownership &&
        s3.send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: ownership })),
    ]);
    return {
      physicalId: bucket,
      ref: bucket,
      attributes: {
        Arn: `arn:aws:s3:::${bucket}`,
        DomainName: `${bucket}.s3.amazonaws.com`,
        RegionalDomainName: `${bucket}.s3.${context.region}.amazonaws.com`,
      },
    };
  },
};

const LIFECYCLE_FIELDS = new Set([
  'Id',
  'Status',
  'Prefix',
  'ExpirationInDays',
  'ExpiredObjectDeleteMarker',
  'AbortIncompleteMultipartUpload',
  'NoncurrentVersionExpiration',
  'NoncurrentVersionExpirationInDays',
]);

/** CloudFormation's flat rule shape → the API's nested one. */
function lifecycleRule(logicalId: string, rule: Rule): LifecycleRule {
  const unknown = Object.keys(rule).filter((field) => !LIFECYCLE_FIELDS.has(field));
  if (unknown.length > 0)
    throw new Error(`${logicalId}: lifecycle fields not supported locally: ${unknown.join(', ')}`);
  const noncurrentDays =
    (rule.NoncurrentVersionExpiration as { NoncurrentDays?: number } | undefined)?.NoncurrentDays ??
    (rule.NoncurrentVersionExpirationInDays as number | undefined);
  return {
    ID: rule.Id as string | undefined,
    Status: rule.Status as 'Enabled' | 'Disabled',
    Filter: { Prefix: (rule.Prefix as string | undefined) ?? '' },
    ...(rule.ExpirationInDays !== undefined || rule.ExpiredObjectDeleteMarker !== undefined
      ? {
          Expiration: {
            Days: rule.ExpirationInDays as number | undefined,
            ExpiredObjectDeleteMarker: rule.ExpiredObjectDeleteMarker as boolean | undefined,
          },
        }
      : {}),
    ...(rule.AbortIncompleteMultipartUpload
      ? {
          AbortIncompleteMultipartUpload: rule.AbortIncompleteMultipartUpload as {
            DaysAfterInitiation: number;
          },
        }
      : {}),
    ...(noncurrentDays !== undefined
      ? { NoncurrentVersionExpiration: { NoncurrentDays: noncurrentDays } }
      : {}),
  };
}
