// The operator dashboard on AWS: its built files in a private bucket, served by a CloudFront
// distribution that also passes `/v1/*` on to the API, so the dashboard and the API share one origin
// (its content security policy allows `connect-src 'self'` only, and no CORS is needed).
//
//   viewer ─HTTPS─> CloudFront ─ default ─ viewer-request function (a page path → /index.html)
//                      │                     └─> S3 (Origin Access Control; the bucket is private)
//                      └──── /v1/* ─── no cache, every method, all viewer headers but Host ──> API Gateway (stage prod)
//
// Every answer carries the security headers of one response headers policy.
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  SSLMethod,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, type ISource } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { securityHeaders } from '../../dashboard/tools/security-headers.ts';

/**
 * The dashboard's headers are the local server's (dashboard/tools/security-headers.ts): its own
 * origin for everything, the API included, and the media bucket for images, audio and video (the
 * API's presigned download URLs point there).
 */
export function dashboardSecurityHeaders(mediaOrigin: string): Record<string, string> {
  return securityHeaders({ https: true, mediaOrigins: [mediaOrigin] });
}

/** Two years, the HSTS preload list's minimum. */
export const HSTS_MAX_AGE = Duration.days(730);

/** How long the distribution's and the site bucket's access logs are kept (what they hold: below). */
export const ACCESS_LOG_RETENTION = Duration.days(90);

/** The API's paths: never the dashboard's, never cached, never rewritten. */
export const API_PATH_PATTERN = '/v1/*';

/**
 * The viewer-request function of the default behaviour: a path whose last segment has no dot is a
 * page of the single-page app (`/channels`, `/tenants/ten_…`), served as `/index.html`; a file
 * (`/assets/app-3f2a.js`) is served as asked, and a missing one stays S3's answer. A function rather
 * than the distribution's error responses, which would turn every 403 and 404 into the app, the
 * API's own 404s included, and answer them 200.
 */
export const SPA_FALLBACK_CODE = `function handler(event) {
  var request = event.request;
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

export interface DashboardDomain {
  /** e.g. `ops.clinic.example`: its DNS record (a CNAME or alias to the distribution) is the owner's to make. */
  readonly domainName: string;
  /** An ACM certificate for it, in us-east-1 (CloudFront takes no other region's). */
  readonly certificateArn: string;
}

export interface DashboardHostingProps {
  /** The built dashboard (`npm run dashboard:build <dir>`): `index.html` and its assets. */
  readonly assets: ISource;
  /** The REST API the `/v1/*` behaviour forwards to (its deployment stage is the origin path). */
  readonly api: RestApiBase;
  /**
   * A custom domain and its certificate: the only way CloudFront lets a distribution refuse TLS
   * below 1.2 (with its default `*.cloudfront.net` certificate the minimum is TLSv1, whatever is set).
   */
  readonly domain?: DashboardDomain;
  /** A web ACL of scope CLOUDFRONT (made in us-east-1) to put in front of the distribution; none by default. */
  readonly webAclArn?: string;
  /** Where the API's media download URLs point (`https://<bucket>.s3.<region>.amazonaws.com`). */
  readonly mediaOrigin: string;
}

export class DashboardHosting extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly distribution: Distribution;
  readonly securityHeaders: ResponseHeadersPolicy;
  readonly spaFallback: CloudFrontFunction;
  readonly deployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: DashboardHostingProps) {
    super(scope, id);
    const secure = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    // What these logs hold. CloudFront's standard logs (`cloudfront/`): a line per request, the
    // dashboard's and the API's (`/v1/*`) alike, with the viewer's address, user agent, method, path
    // and query string, status and sizes; not headers (no key) and not bodies. S3's server access
    // logs (`s3/`): CloudFront's reads of the build's files. The dashboard keeps patients out of
    // them: its pages name a conversation by a key of the tab's, never by the number, and it sends a
    // contact's number and a file's name in bodies, never in a path or query (docs/dashboard.md).
    // Addresses and user agents are still personal data: kept 90 days, as the API's own access log
    // is, long enough to look into an incident, and no longer.
    // CloudFront's standard logs are written with an ACL, so this bucket keeps ACLs usable for its
    // owner (BUCKET_OWNER_PREFERRED); S3's server access logs come through its bucket policy.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...secure,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: ACCESS_LOG_RETENTION }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket holds the dashboard’s access logs (CloudFront’s and S3’s); logging it into itself would loop.',
    });
    this.bucket = new Bucket(this, 'Site', {
      ...secure,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A release that went wrong can be put back from the previous versions, kept 30 days.
      versioned: true,
      lifecycleRules: [{ id: 'expire-old-releases', noncurrentVersionExpiration: Duration.days(30) }],
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 's3/',
    });

    const headers = dashboardSecurityHeaders(props.mediaOrigin);
    this.securityHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'clinic-wa dashboard: CSP, HSTS, nosniff, no referrer, no framing',
      // The two the security headers behaviour has no field for.
      customHeadersBehavior: {
        customHeaders: ['permissions-policy', 'cross-origin-opener-policy'].map((header) => ({
          header,
          value: headers[header] ?? '',
          override: true,
        })),
      },
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: headers['content-security-policy'] ?? '',
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: HSTS_MAX_AGE,
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
      },
    });
    this.spaFallback = new CloudFrontFunction(this, 'SpaFallback', {
      comment: 'clinic-wa dashboard: serve /index.html for page paths',
      runtime: FunctionRuntime.JS_2_0,
      code: FunctionCode.fromInline(SPA_FALLBACK_CODE),
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'clinic-wa operator dashboard and its API',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      // Brazil's edges are only in the "All" class; an operator's page costs little anywhere.
      priceClass: PriceClass.PRICE_CLASS_ALL,
      enableLogging: true,
      logBucket: this.accessLogs,
      logFilePrefix: 'cloudfront/',
      ...(props.domain
        ? {
            domainNames: [props.domain.domainName],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: SSLMethod.SNI,
          }
        : {}),
      ...(props.webAclArn ? { webAclId: props.webAclArn } : {}),
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders,
        functionAssociations: [{ function: this.spaFallback, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        [API_PATH_PATTERN]: {
          // HTTPS_ONLY, not a redirect: a redirected POST would be sent again without its body.
          origin: new RestApiOrigin(props.api),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          // Nothing cached (every answer is one tenant's, `no-store`); with caching off, this policy
          // forwards every viewer header (Authorization included) and the query, but not Host, which
          // API Gateway needs to be its own.
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.securityHeaders,
        },
      },
    });
    if (!props.domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'No custom domain was given (context dashboardDomainName and dashboardCertificateArn): with the default ' +
          '*.cloudfront.net certificate CloudFront fixes the minimum TLS version at TLSv1 and cannot raise it. Modern ' +
          'browsers negotiate TLS 1.2 or 1.3 regardless; give a domain to refuse older clients.',
      });
    }
    if (!props.webAclArn) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR2',
        reason:
          'A CLOUDFRONT-scope web ACL must be made in us-east-1 (context dashboardWebAclArn attaches one). Without it, ' +
          '/v1/* requests still pass the API stage’s regional web ACL and the API’s own keys and rate limit; the default ' +
          'behaviour serves only the static files of a private bucket (docs/infra.md, "The dashboard").',
      });
    }
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction: operators and clinics work from wherever they are, the files are the same for everyone, ' +
        'and every API call needs a key.',
    });

    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [props.assets],
      destinationBucket: this.bucket,
      // Files no longer in the build go; the bucket's versions keep them 30 days.
      prune: true,
      // Revalidated on every load (ETag), so a release is seen at once; the invalidation clears the edges.
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      logGroup: new LogGroup(this, 'DeploymentLogs', { retention: RetentionDays.THREE_MONTHS }),
    });
    this.acknowledgeDeploymentHandler();
  }

  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * `BucketDeployment` runs a Lambda function of CDK's (one per stack) that copies the files and
   * invalidates the distribution; its role is CDK's to shape. Each of its findings is acknowledged
   * on that function's own constructs.
   */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (!handler) throw new Error('BucketDeployment added no handler to the stack');
    const role = handler.node.tryFindChild('ServiceRole');
    if (!role) throw new Error('the BucketDeployment handler has no service role');
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'CDK’s BucketDeployment handler writes its logs with the AWS-managed basic execution role; it runs only when ' +
        'the stack deploys a new dashboard build.',
    });
    const copying =
      'CDK’s BucketDeployment handler reads the build from the CDK asset bucket and copies it into the dashboard ' +
      'bucket, deleting files no longer built (prune): CDK grants these S3 action groups on those two buckets and ' +
      'their objects only, whose keys are the build’s.';
    for (const finding of [
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*`,
      `Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/*`,
    ]) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: copying });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CDK’s BucketDeployment handler invalidates the distribution after a copy (cloudfront:CreateInvalidation and ' +
        'GetInvalidation, granted by CDK on every distribution): it can do nothing else to any distribution.',
    });
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The runtime of CDK’s BucketDeployment handler is chosen by aws-cdk-lib (its Python and the AWS CLI layer it ' +
        'bundles); it moves forward when aws-cdk-lib is updated.',
    });
  }
}
