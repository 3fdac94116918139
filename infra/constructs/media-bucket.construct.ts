// Media of WhatsApp messages (patients' images, audio, documents): private, TLS-only, encrypted,
// expired after a retention period, with server access logs in a bucket of their own.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { RuntimeConsumer } from '../runtime-environment.ts';

export interface MediaBucketProps {
  /** Days a media object is kept; health data should not outlive its use. */
  readonly retentionDays?: number;
}

/**
 * How cdk-nag names the media bucket's objects (`…/*`) in a policy of another stack: an import of the
 * stateful stack's export of the bucket's ARN. An acknowledgement written with it stops matching, and
 * `cdk synth` fails, if the reference ever changes.
 */
export const mediaObjectsFinding = (statefulStackName: string, keys = '*') =>
  `AwsSolutions-IAM5[Resource::${statefulStackName}:ExportsOutputFnGetAttMediaBucket4022EBBFArnD921DB08/${keys}]`;

/** Where the media store keeps every object: `media/<tenant>/<media id>` (shared/aws/s3-media-store.ts). */
export const MEDIA_KEY_PREFIX = 'media/';

export class MediaBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: MediaBucketProps = {}) {
    super(scope, id);
    const secure = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Server access logging only delivers to SSE-S3 buckets; use it for both.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...secure,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });
    this.bucket = new Bucket(this, 'Bucket', {
      ...secure,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'media/',
      lifecycleRules: [
        {
          id: 'expire-media',
          expiration: Duration.days(props.retentionDays ?? 90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  get bucketName(): string {
    return this.bucket.bucketName;
  }

  bindReadWrite(consumer: RuntimeConsumer): void {
    this.bucket.grantReadWrite(consumer);
    consumer.addEnvironment('MEDIA_BUCKET_NAME', this.bucketName);
  }

  /**
   * Put and get objects (no delete), and list the keys under `media/`: S3 answers a read of a
   * missing key (HeadObject, GetObject) with 404 `NotFound`/`NoSuchKey` only to a caller that may
   * list the bucket, and with 403 `AccessDenied` to anyone else, which the media store cannot tell
   * from a real denial (it would be a 500, and the runner would retry a deleted file until the
   * command expires). S3 checks that listing with the requested key as `s3:prefix`, so the condition
   * holds for every media key and for nothing outside `media/`.
   */
  bindPutAndGetObjects(consumer: RuntimeConsumer): void {
    Grant.addToPrincipal({
      grantee: consumer,
      // A streamed upload that fails aborts its multipart upload: without the grant its parts would
      // wait for the lifecycle rule (a day) instead of going at once.
      actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      resourceArns: [this.bucket.arnForObjects('*')],
    });
    Grant.addToPrincipal({
      grantee: consumer,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': `${MEDIA_KEY_PREFIX}*` } },
    });
    consumer.addEnvironment('MEDIA_BUCKET_NAME', this.bucketName);
  }

  /**
   * GetObject on the tenants' objects (`media/…`) and nothing else: enough to presign download URLs
   * that work (a presigned request acts with the signer's permissions), no listing, no writes.
   */
  bindGetObjects(consumer: RuntimeConsumer): void {
    Grant.addToPrincipal({
      grantee: consumer,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${MEDIA_KEY_PREFIX}*`)],
    });
    consumer.addEnvironment('MEDIA_BUCKET_NAME', this.bucketName);
  }

  bindRead(consumer: RuntimeConsumer): void {
    this.bucket.grantRead(consumer);
    consumer.addEnvironment('MEDIA_BUCKET_NAME', this.bucketName);
  }
}
