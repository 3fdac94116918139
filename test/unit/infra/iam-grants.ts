// Every identity-based IAM statement of a synthesized platform, flattened to (principal, actions,
// resources, condition) with references followed across stacks, so a test can ask "who may do X to
// Y" of the whole app rather than of one policy it already knows about.
import type { SynthesizedPlatform } from './support.ts';

export interface IamGrant {
  /** `<stack>/<logical id of the role>`. */
  readonly principal: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition?: Record<string, unknown>;
}

type Namer = (stack: string, logicalId: string, attribute?: string) => string;

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, unknown>;
}

/**
 * The AWS-managed policies a stack of ours attaches, with their documents as AWS publishes them
 * (policy version v1), so a grant through one is seen like any other. An unknown one fails the analysis.
 */
const AWS_MANAGED_POLICIES: Readonly<Record<string, Statement[]>> = {
  // CDK's BucketDeployment handler (ClinicWa-Dashboard): its logs.
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: '*',
    },
  ],
  // The account's CloudWatch Logs role for API Gateway (ClinicWa-Api).
  'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs': [
    {
      Effect: 'Allow',
      Action: [
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogGroups',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
        'logs:GetLogEvents',
        'logs:FilterLogEvents',
      ],
      Resource: '*',
    },
  ],
};

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : ([value].flat() as T[]));

export function iamGrants(platform: SynthesizedPlatform, name: Namer): IamGrant[] {
  const grants: IamGrant[] = [];
  for (const [stack, template] of platform.templates) {
    for (const [id, resource] of Object.entries(template.Resources)) {
      const properties = resource.Properties ?? {};
      const documents: { principals: string[]; statements: Statement[] }[] = [];
      const roleRefs = (refs: unknown) => list(refs as { Ref: string }[]).map((ref) => `${stack}/${ref.Ref}`);
      if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
        if (properties.Users || properties.Groups) throw new Error(`${stack}/${id}: users or groups`);
        documents.push({
          principals: roleRefs(properties.Roles),
          statements: list((properties.PolicyDocument as { Statement: Statement[] }).Statement),
        });
      } else if (resource.Type === 'AWS::IAM::Role') {
        for (const arn of list(properties.ManagedPolicyArns)) {
          const known = AWS_MANAGED_POLICIES[platform.resolve(arn, stack, name)];
          if (!known)
            throw new Error(`${stack}/${id}: managed policy ${JSON.stringify(arn)} is not analysed`);
          documents.push({ principals: [`${stack}/${id}`], statements: known });
        }
        for (const policy of list(properties.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
          documents.push({
            principals: [`${stack}/${id}`],
            statements: list(policy.PolicyDocument.Statement),
          });
        }
      } else if (resource.Type.startsWith('AWS::IAM::') && resource.Type !== 'AWS::IAM::Role') {
        throw new Error(`${stack}/${id}: ${resource.Type} is not analysed`);
      }
      for (const { principals, statements } of documents) {
        for (const statement of statements) {
          if (statement.NotAction || statement.NotResource) throw new Error(`${stack}/${id}: Not… statement`);
          if (statement.Effect !== 'Allow') continue;
          const actions = list(statement.Action);
          const resources = list(statement.Resource).map((value) => platform.resolve(value, stack, name));
          for (const principal of principals) {
            grants.push({
              principal,
              actions,
              resources,
              ...(statement.Condition ? { condition: statement.Condition } : {}),
            });
          }
        }
      }
    }
  }
  return grants;
}

/** Whether an action pattern of a policy (`dynamodb:Get*`, `*`) allows the concrete action. */
export function allows(patterns: readonly string[], action: string): boolean {
  return patterns.some((pattern) =>
    new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i').test(action),
  );
}

/** IAM's `StringLike`: `*` is any run of characters, `?` any one, case-sensitive. */
export function stringLike(pattern: string, value: string): boolean {
  const regExp = pattern
    .split('*')
    .map((part) => part.split('?').map(escapeRegExp).join('.'))
    .join('.*');
  return new RegExp(`^${regExp}$`, 's').test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Principals allowed any of `actions` on `target` (a name given by the namer) or on anything under
 * it; a resource with a wildcard that is not under a named resource counts as reaching it.
 */
export function principalsAllowed(
  grants: readonly IamGrant[],
  actions: readonly string[],
  target: string,
  named: readonly string[],
): string[] {
  const reaches = (resource: string) =>
    resource === target ||
    resource.startsWith(`${target}/`) ||
    (resource.includes('*') && !named.some((name) => resource.startsWith(`${name}/`)));
  const principals = grants
    .filter((grant) => actions.some((action) => allows(grant.actions, action)))
    .filter((grant) => grant.resources.some(reaches))
    .map((grant) => grant.principal);
  return [...new Set(principals)].sort();
}
