// The dashboard stack as synthesized: a private, versioned, TLS-only bucket read by CloudFront
// through Origin Access Control; the default behaviour with the single-page app's fallback as a
// viewer-request function; `/v1/*` to the API uncached, every method, every viewer header but Host;
// the security headers; TLS; access logs; the build deployed and the distribution invalidated;
// cdk-nag clean with each acknowledgement on the resource it excuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PATH_PATTERN, SPA_FALLBACK_CODE } from '#infra/constructs/dashboard-hosting.construct.ts';
import { DashboardBuild, dashboardAssets } from '#infra/dashboard-build.ts';
import { API_STACK_NAME, DASHBOARD_STACK_NAME } from '#infra/platform-app.ts';
import { contentSecurityPolicy, securityHeaders } from '../../../dashboard/tools/security-headers.ts';
import { cfnId, platform, SynthesizedPlatform } from './support.ts';

/** A value CloudFormation joins, with every reference written `<ref>`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  return '<ref>';
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Behavior = Record<string, unknown> & { PathPattern?: string; TargetOriginId: string };

// CloudFront's managed policies, by the ids AWS publishes for them.
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

const temporary: string[] = [];
afterAll(() => {
  for (const directory of temporary) rmSync(directory, { recursive: true, force: true });
});

/** A directory standing for the dashboard's build: what `npm run dashboard:build <dir>` leaves. */
function fixtureBuild(files: Record<string, string> = { 'index.html': '<!doctype html><title>ops</title>' }) {
  const directory = mkdtempSync(join(tmpdir(), 'clinic-wa-dashboard-'));
  temporary.push(directory);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(directory, name), content);
  return directory;
}

function synthesize(context: Record<string, unknown> = {}) {
  const built = platform({ shardCount: 2, ...context });
  const synthesized = new SynthesizedPlatform(built.app);
  const resources = synthesized.template(DASHBOARD_STACK_NAME).Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const only = (type: string) => {
    const found = ofType(type);
    expect(found, type).toHaveLength(1);
    return found[0] as [string, Resource];
  };
  const distribution = () =>
    only('AWS::CloudFront::Distribution')[1].Properties.DistributionConfig as Record<string, unknown>;
  return { built, synthesized, resources, ofType, only, distribution };
}

describe('the dashboard stack', () => {
  let world: ReturnType<typeof synthesize>;
  let fixture: string;
  beforeAll(() => {
    fixture = fixtureBuild({ 'index.html': '<!doctype html><title>ops</title>', 'app-3f2a.js': 'x' });
    world = synthesize({ dashboardAssets: fixture });
  });
  const logicalId = (construct: Parameters<typeof cfnId>[0]) => cfnId(construct).split('/')[1] as string;

  describe('the bucket', () => {
    it('is private, encrypted, versioned, kept, and logs its access to the log bucket', () => {
      const { hosting } = world.built.dashboard;
      const site = world.resources[logicalId(hosting.bucket)];
      expect(site?.DeletionPolicy).toBe('Retain');
      expect(site?.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: logicalId(hosting.accessLogs) },
          LogFilePrefix: 's3/',
        },
      });
      expect(site?.Properties.WebsiteConfiguration).toBeUndefined();
    });

    it('lets only this distribution read its objects (OAC), over TLS only', () => {
      const { hosting } = world.built.dashboard;
      const policy = world
        .ofType('AWS::S3::BucketPolicy')
        .find(([, candidate]) =>
          JSON.stringify(candidate.Properties.Bucket).includes(logicalId(hosting.bucket)),
        );
      if (!policy) throw new Error('the site bucket has no policy');
      const statements = (policy[1].Properties.PolicyDocument as { Statement: Record<string, unknown>[] })
        .Statement;
      const allows = statements.filter((statement) => statement.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Action: 's3:GetObject',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(hosting.bucket), 'Arn'] }, '/*']] },
          Condition: {
            StringEquals: {
              'AWS:SourceArn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':cloudfront::',
                    { Ref: 'AWS::AccountId' },
                    ':distribution/',
                    { Ref: logicalId(hosting.distribution) },
                  ],
                ],
              },
            },
          },
        },
      ]);
      expect(statements.filter((statement) => statement.Effect === 'Deny')).toEqual([
        expect.objectContaining({
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Principal: { AWS: '*' },
        }),
      ]);
      const [oacId, oac] = world.only('AWS::CloudFront::OriginAccessControl');
      expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      });
      const s3Origin = (world.distribution().Origins as Record<string, unknown>[]).find(
        (origin) => origin.S3OriginConfig,
      );
      expect(s3Origin).toMatchObject({
        DomainName: { 'Fn::GetAtt': [logicalId(hosting.bucket), 'RegionalDomainName'] },
        OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] },
        S3OriginConfig: { OriginAccessIdentity: '' },
      });
    });
  });

  describe('the distribution', () => {
    const behaviors = () => {
      const config = world.distribution();
      return {
        default: config.DefaultCacheBehavior as Behavior,
        others: config.CacheBehaviors as Behavior[],
      };
    };
    const originOf = (behavior: Behavior) =>
      (world.distribution().Origins as { Id: string }[]).find(
        (origin) => origin.Id === behavior.TargetOriginId,
      ) as Record<string, unknown> | undefined;

    it('serves the bucket by default: HTTPS (redirected), GET and HEAD, cached, the app for page paths', () => {
      const { hosting } = world.built.dashboard;
      const { default: fallback } = behaviors();
      expect(fallback).toMatchObject({
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        CachePolicyId: CACHING_OPTIMIZED,
        Compress: true,
        ResponseHeadersPolicyId: { Ref: logicalId(hosting.securityHeaders) },
        FunctionAssociations: [
          {
            EventType: 'viewer-request',
            FunctionARN: { 'Fn::GetAtt': [logicalId(hosting.spaFallback), 'FunctionARN'] },
          },
        ],
      });
      expect(originOf(fallback)?.S3OriginConfig).toBeDefined();
      expect(world.distribution()).toMatchObject({
        DefaultRootObject: 'index.html',
        HttpVersion: 'http2and3',
        Enabled: true,
      });
      // The fallback is the function's: error responses would rewrite the API's 404s too.
      expect(world.distribution().CustomErrorResponses).toBeUndefined();
    });

    it('sends /v1/* to the API’s stage uncached, with every method, every viewer header but Host, the query', () => {
      const { api } = world.built;
      const { others } = behaviors();
      expect(others).toHaveLength(1);
      const [apiBehavior] = others as [Behavior];
      expect(apiBehavior).toMatchObject({
        PathPattern: API_PATH_PATTERN,
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        ResponseHeadersPolicyId: { Ref: logicalId(world.built.dashboard.hosting.securityHeaders) },
      });
      expect(API_PATH_PATTERN).toBe('/v1/*');
      // No rewriting function on the API's paths.
      expect(apiBehavior.FunctionAssociations).toBeUndefined();
      const origin = originOf(apiBehavior) as Record<string, unknown>;
      const name = (_stack: string, id: string) => id;
      const restApiId = cfnId(api.api.api).split('/')[1];
      expect(world.synthesized.resolve(origin.DomainName, DASHBOARD_STACK_NAME, name)).toBe(
        `${restApiId}.execute-api.us-east-1.amazonaws.com`,
      );
      expect(world.synthesized.resolve(origin.OriginPath, DASHBOARD_STACK_NAME, name)).toBe(
        `/${cfnId(api.api.api.deploymentStage).split('/')[1]}`,
      );
      expect(origin.CustomOriginConfig).toEqual({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
      expect(API_STACK_NAME).toBe('ClinicWa-Api');
    });

    it('adds the security headers to every answer, the API’s included', () => {
      const [id, policy] = world.only('AWS::CloudFront::ResponseHeadersPolicy');
      expect(
        (policy.Properties.ResponseHeadersPolicyConfig as Record<string, unknown>).SecurityHeadersConfig,
      ).toMatchObject({
        ContentSecurityPolicy: { Override: true },
        StrictTransportSecurity: {
          AccessControlMaxAgeSec: 63_072_000,
          IncludeSubdomains: true,
          Override: true,
        },
        ContentTypeOptions: { Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
      });
      const config = policy.Properties.ResponseHeadersPolicyConfig as Record<string, any>;
      // The local server's policy, the media bucket's origin its one other source (images, audio, video).
      expect(joined(config.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy)).toBe(
        contentSecurityPolicy(['https://<ref>']),
      );
      expect(contentSecurityPolicy(['https://<ref>'])).toContain("media-src 'self' blob: https://<ref>");
      const local = securityHeaders({ https: true });
      expect(config.CustomHeadersConfig.Items).toEqual([
        { Header: 'permissions-policy', Value: local['permissions-policy'], Override: true },
        { Header: 'cross-origin-opener-policy', Value: local['cross-origin-opener-policy'], Override: true },
      ]);
      const { default: fallback, others } = behaviors();
      for (const behavior of [fallback, ...others])
        expect(behavior.ResponseHeadersPolicyId).toEqual({ Ref: id });
    });

    it('logs every request to the log bucket, kept 90 days, which keeps ACLs for CloudFront and logs nowhere itself', () => {
      const { hosting } = world.built.dashboard;
      expect(world.distribution().Logging).toEqual({
        Bucket: { 'Fn::GetAtt': [logicalId(hosting.accessLogs), 'RegionalDomainName'] },
        Prefix: 'cloudfront/',
      });
      const logs = world.resources[logicalId(hosting.accessLogs)];
      expect(logs?.Properties).toMatchObject({
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: {
          Rules: [{ ExpirationInDays: 90, Status: 'Enabled', Id: 'expire-access-logs' }],
        },
      });
      expect(logs?.Properties.LoggingConfiguration).toBeUndefined();
    });

    it('uses CloudFront’s certificate without a domain: TLS is fixed at its minimum, and the finding says so', () => {
      expect(world.distribution().ViewerCertificate).toBeUndefined();
      expect(world.distribution().Aliases).toBeUndefined();
      expect(world.distribution().WebACLId).toBeUndefined();
    });

    it('refuses TLS below 1.2 with a domain and its us-east-1 certificate, and takes a CLOUDFRONT web ACL', () => {
      const certificate =
        'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
      const webAcl =
        'arn:aws:wafv2:us-east-1:123456789012:global/webacl/ops/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
      const withDomain = synthesize({
        dashboardAssets: fixture,
        dashboardDomainName: 'ops.clinica.example',
        dashboardCertificateArn: certificate,
        dashboardWebAclArn: webAcl,
      });
      expect(withDomain.distribution()).toMatchObject({
        Aliases: ['ops.clinica.example'],
        ViewerCertificate: {
          AcmCertificateArn: certificate,
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        },
        WebACLId: webAcl,
      });
      expect(findings(withDomain.built.dashboard)).toEqual([]);
      expect(acknowledged(withDomain.built.dashboard)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/CFR4|CFR2/)]),
      );
      const outputs = withDomain.synthesized.template(DASHBOARD_STACK_NAME).Outputs ?? {};
      expect(outputs.DashboardUrl?.Value).toBe('https://ops.clinica.example');
    });

    it('refuses a domain without a certificate, a certificate or web ACL outside us-east-1', () => {
      const certificate = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';
      for (const [context, message] of [
        [{ dashboardDomainName: 'ops.clinica.example' }, /go together/],
        [{ dashboardCertificateArn: certificate }, /go together/],
        [
          {
            dashboardDomainName: 'ops.clinica.example',
            dashboardCertificateArn: 'arn:aws:acm:sa-east-1:123456789012:certificate/abc',
          },
          /ACM certificate in us-east-1/,
        ],
        [
          { dashboardWebAclArn: 'arn:aws:wafv2:sa-east-1:123456789012:regional/webacl/api/abc' },
          /CLOUDFRONT-scope web ACL/,
        ],
      ] as const) {
        expect(() => platform({ shardCount: 2, dashboardAssets: fixture, ...context })).toThrow(message);
      }
    });
  });

  describe('the single-page app’s fallback', () => {
    /** The function's code as CloudFront runs it: `handler(event)` on the viewer request. */
    const run = (uri: string): string => {
      const handler = new Function(`${SPA_FALLBACK_CODE}; return handler;`)() as (event: unknown) => {
        uri: string;
      };
      return handler({ request: { uri, method: 'GET', headers: {}, querystring: {} } }).uri;
    };

    it('serves /index.html for a page path and the file itself for a file', () => {
      const [, fn] = world.only('AWS::CloudFront::Function');
      expect(fn.Properties).toMatchObject({
        FunctionCode: SPA_FALLBACK_CODE,
        FunctionConfig: { Runtime: 'cloudfront-js-2.0' },
        AutoPublish: true,
      });
      expect(
        Object.fromEntries(
          ['/', '/channels', '/tenants/ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW/keys', '/runners/'].map((uri) => [
            uri,
            run(uri),
          ]),
        ),
      ).toEqual({
        '/': '/index.html',
        '/channels': '/index.html',
        '/tenants/ten_01JDQ7Z8K3M4N5P6Q7R8S9T0VW/keys': '/index.html',
        '/runners/': '/index.html',
      });
      for (const file of ['/assets/index-3f2a9c.js', '/favicon.ico', '/index.html', '/assets/logo.svg']) {
        expect(run(file), file).toBe(file);
      }
    });
  });

  describe('the deployment of the build', () => {
    it('copies the directory given by context, pruning what is gone, revalidated, and invalidates every path', () => {
      const { hosting } = world.built.dashboard;
      const [, deployment] = world.only('Custom::CDKBucketDeployment');
      expect(deployment.Properties).toMatchObject({
        DestinationBucketName: { Ref: logicalId(hosting.bucket) },
        Prune: true,
        DistributionId: { Ref: logicalId(hosting.distribution) },
        DistributionPaths: ['/*'],
        SystemMetadata: { 'cache-control': 'no-cache' },
      });
      const [key] = deployment.Properties.SourceObjectKeys as [string];
      const staged = join(world.synthesized.directory, `asset.${key.replace(/\.zip$/, '')}`);
      expect(readFileSync(join(staged, 'index.html'), 'utf8')).toBe('<!doctype html><title>ops</title>');
      expect(readFileSync(join(staged, 'app-3f2a.js'), 'utf8')).toBe('x');
    });

    it('refuses a directory without index.html', () => {
      const empty = fixtureBuild({ 'readme.txt': 'not a build' });
      expect(() => platform({ shardCount: 2, dashboardAssets: empty })).toThrow(/holds no index\.html/);
    });

    it('builds at synthesis when no directory is given, and not at all in an app that skips bundling', () => {
      // The tests' apps skip bundling: the stack still synthesizes, with the build as its source.
      const unbuilt = synthesize();
      const [, deployment] = unbuilt.only('Custom::CDKBucketDeployment');
      expect(deployment.Properties.SourceObjectKeys).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.zip$/)]);
    });

    it('runs npm run dashboard:build <dir> in the project and takes its index.html', () => {
      const project = fixtureBuild({
        'package.json': JSON.stringify({
          name: 'fixture',
          private: true,
          scripts: {
            'dashboard:build':
              "node -e \"require('fs').writeFileSync(require('path').join(process.argv[1], 'index.html'), 'built')\"",
          },
        }),
      });
      const output = fixtureBuild({});
      expect(new DashboardBuild(project).tryBundle(output)).toBe(true);
      expect(readFileSync(join(output, 'index.html'), 'utf8')).toBe('built');
      expect(dashboardAssets(output)).toBeDefined();
    });

    it('fails the synthesis when the build fails or leaves no index.html', () => {
      const failing = fixtureBuild({
        'package.json': JSON.stringify({
          name: 'f',
          private: true,
          scripts: { 'dashboard:build': 'node -e "process.exit(3)"' },
        }),
      });
      expect(() => new DashboardBuild(failing).tryBundle(fixtureBuild({}))).toThrow(/failed \(exit 3\)/);
      const empty = fixtureBuild({
        'package.json': JSON.stringify({
          name: 'e',
          private: true,
          scripts: { 'dashboard:build': 'node -e ""' },
        }),
      });
      expect(() => new DashboardBuild(empty).tryBundle(fixtureBuild({}))).toThrow(/holds no index\.html/);
    });
  });

  describe('cdk-nag', () => {
    it('finds nothing unacknowledged', () => {
      expect(findings(world.built.dashboard)).toEqual([]);
    });

    it('acknowledges each finding on the resource it excuses, each rule with a reason of its own', () => {
      expect(acknowledged(world.built.dashboard).sort()).toEqual(
        [
          'Hosting/AccessLogs AwsSolutions-S1',
          'Hosting/Distribution AwsSolutions-CFR1',
          'Hosting/Distribution AwsSolutions-CFR2',
          'Hosting/Distribution AwsSolutions-CFR4',
          `${HANDLER} AwsSolutions-L1`,
          `${HANDLER}/ServiceRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`,
          ...[
            'Action::s3:Abort*',
            'Action::s3:DeleteObject*',
            'Action::s3:GetBucket*',
            'Action::s3:GetObject*',
            'Action::s3:List*',
            'Resource::*',
            'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
            `Resource::<${logicalIdOf(world, 'bucket')}.Arn>/*`,
          ].map((finding) => `${HANDLER}/ServiceRole AwsSolutions-IAM5[${finding}]`),
        ].sort(),
      );
    });
  });
});

/** CDK's singleton BucketDeployment handler: one per stack, under this fixed id. */
const HANDLER = 'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C';

function logicalIdOf(world: ReturnType<typeof synthesize>, part: 'bucket'): string {
  return cfnId(world.built.dashboard.hosting[part]).split('/')[1] as string;
}

function findings(scope: Parameters<AwsSolutionsChecks['validateScope']>[0]): string[] {
  return new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(scope)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
}

/** `<path under the stack> <rule>` of every acknowledgement, its reason checked on the way. */
function acknowledged(stack: ReturnType<typeof platform>['dashboard']): string[] {
  const reasons = new Map<string, Set<string>>();
  const found = stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>)
          .filter(([id]) => id.includes('AwsSolutions-'))
          .map(([id, reason]) => {
            const rule = id.replace(/^Annotation::/i, '');
            expect(reason.length, rule).toBeGreaterThan(60);
            reasons.set(reason, (reasons.get(reason) ?? new Set()).add(rule.replace(/\[.*$/, '')));
            return `${construct.node.path.replace(`${DASHBOARD_STACK_NAME}/`, '')} ${rule}`;
          }),
      ),
  );
  for (const [reason, rules] of reasons) expect([...rules], reason).toHaveLength(1);
  return found;
}
