// The operator dashboard's hosting (infra/constructs/dashboard-hosting.construct.ts): a stack of its
// own beside the API's, as docs/infra.md ("The dashboard stack") explains. It reads the API stack's
// REST API (its URL: the origin of `/v1/*`) and nothing of the stateful stack.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ISource } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import type { ApiStack } from './api-stack.ts';
import { type DashboardDomain, DashboardHosting } from './constructs/dashboard-hosting.construct.ts';

export const DASHBOARD_URL_OUTPUT = 'DashboardUrl';

export interface DashboardStackProps extends StackProps {
  readonly api: ApiStack;
  /** The built dashboard (infra/dashboard-build.ts). */
  readonly assets: ISource;
  readonly domain?: DashboardDomain;
  readonly webAclArn?: string;
  /** Where the API's media download URLs point: the media bucket's regional origin. */
  readonly mediaOrigin: string;
}

export class DashboardStack extends Stack {
  readonly hosting: DashboardHosting;

  constructor(scope: Construct, id: string, props: DashboardStackProps) {
    super(scope, id, props);
    this.hosting = new DashboardHosting(this, 'Hosting', {
      assets: props.assets,
      api: props.api.api.api,
      mediaOrigin: props.mediaOrigin,
      ...(props.domain ? { domain: props.domain } : {}),
      ...(props.webAclArn ? { webAclArn: props.webAclArn } : {}),
    });
    new CfnOutput(this, DASHBOARD_URL_OUTPUT, {
      description: 'The dashboard (and the API under /v1/ on the same origin)',
      value: props.domain ? `https://${props.domain.domainName}` : this.hosting.url,
    });
  }
}
