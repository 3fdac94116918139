// A network for tasks that only call out (the runner: WhatsApp's WebSocket and media hosts, AWS APIs)
// and are never called: two AZs, tasks in private subnets behind a NAT gateway per AZ, gateway
// endpoints so DynamoDB and S3 traffic stays off the NAT, flow logs of everything, and a security
// group with no inbound rule at all and outbound HTTPS only.
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface EgressOnlyNetworkProps {
  /** NAT gateways; one per AZ (the default) keeps a zone's tasks online when the other zone fails. */
  readonly natGateways?: number;
}

export const NETWORK_AZ_COUNT = 2;

export class EgressOnlyNetwork extends Construct {
  readonly vpc: Vpc;
  readonly flowLogs: LogGroup;
  /** For the tasks: no ingress, egress to TCP 443 only. */
  readonly taskSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: EgressOnlyNetworkProps = {}) {
    super(scope, id);
    this.flowLogs = new LogGroup(this, 'FlowLogs', {
      retention: RetentionDays.THREE_MONTHS,
    });
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: NETWORK_AZ_COUNT,
      natGateways: props.natGateways ?? NETWORK_AZ_COUNT,
      subnetConfiguration: [
        // Only the NAT gateways live here; nothing of ours gets a public address.
        { name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Tasks', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      gatewayEndpoints: {
        DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: {
        All: {
          destination: FlowLogDestination.toCloudWatchLogs(this.flowLogs),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });
    this.taskSecurityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Runner tasks: no inbound traffic; outbound HTTPS only (WhatsApp, AWS APIs)',
      allowAllOutbound: false,
    });
    // WhatsApp's WebSocket and media hosts and every AWS API are HTTPS. DNS (the VPC resolver) and
    // time (the link-local NTP service) are not subject to security groups.
    this.taskSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS: WhatsApp and AWS APIs');
  }
}
