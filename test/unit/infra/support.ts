import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import {
  createApp,
  definePlatform,
  defineStatefulStack,
  type Platform,
  WITHOUT_BUNDLING,
} from '#infra/platform-app.ts';
import type { StatefulStack } from '#infra/stateful-stack.ts';

/**
 * A platform app as `cdk synth` builds it, minus what only costs time here: the checks (the cdk-nag
 * test runs them itself; CloudFormation's schema validation runs in `cdk synth`) and the functions'
 * bundling (test/unit/infra/api-bundles.test.ts bundles them once).
 */
export function platform(context: Record<string, unknown> = {}): Platform & { app: App } {
  const app = testApp(context);
  return { app, ...definePlatform(app, { checks: false }) };
}

/** The stateful stack alone, as the local platform synthesizes it. */
export function statefulStack(context: Record<string, unknown> = {}): { app: App; stack: StatefulStack } {
  const app = testApp(context);
  return { app, stack: defineStatefulStack(app) };
}

function testApp(context: Record<string, unknown>): App {
  return createApp({
    context: { ...WITHOUT_BUNDLING, ...context },
    builtinCloudFormationValidation: false,
    treeMetadata: false,
  });
}

/** Logical id of a construct's CloudFormation resource, as `<stack>/<id>`. */
export function cfnId(construct: IConstruct): string {
  const stack = Stack.of(construct);
  return `${stack.stackName}/${stack.getLogicalId(construct.node.defaultChild as CfnElement)}`;
}

type CfnValue = unknown;

export const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};
interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, CfnValue> }>;
  Outputs?: Record<string, { Value: CfnValue; Export?: { Name: string } }>;
}

/** The synthesized templates of every stack of an app, with references followed across stacks. */
export class SynthesizedPlatform {
  readonly directory: string;
  readonly templates: ReadonlyMap<string, CfnTemplate>;
  private readonly exports = new Map<string, { stack: string; value: CfnValue }>();

  constructor(app: App) {
    const assembly = app.synth();
    this.directory = assembly.directory;
    this.templates = new Map(
      assembly.stacks.map((stack) => [stack.stackName, stack.template as CfnTemplate]),
    );
    for (const [stack, template] of this.templates) {
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export) this.exports.set(output.Export.Name, { stack, value: output.Value });
      }
    }
  }

  template(stack: string): CfnTemplate {
    const template = this.templates.get(stack);
    if (!template) throw new Error(`no stack ${stack}`);
    return template;
  }

  /**
   * A value of `stack`'s template as a string: `Ref`s and `Fn::GetAtt`s become `name(stack, id,
   * attribute)`, imports are followed to the exporting stack, joins are joined (and a part of a split selected), pseudo parameters
   * are the given ones.
   */
  resolve(
    value: CfnValue,
    stack: string,
    name: (stack: string, logicalId: string, attribute?: string) => string,
    pseudo: Record<string, string> = PSEUDO_PARAMETERS,
  ): string {
    const recurse = (inner: CfnValue, inStack: string): string => {
      if (typeof inner === 'string') return inner;
      if (typeof inner === 'number') return String(inner);
      if (typeof inner !== 'object' || inner === null)
        throw new Error(`cannot resolve ${JSON.stringify(inner)}`);
      const [[fn, args]] = Object.entries(inner) as [[string, unknown]];
      if (fn === 'Ref') {
        const id = args as string;
        return pseudo[id] ?? name(inStack, id);
      }
      if (fn === 'Fn::GetAtt') {
        const [id, attribute] = args as [string, string];
        return name(inStack, id, attribute);
      }
      if (fn === 'Fn::ImportValue') {
        const exported = this.exports.get(args as string);
        if (!exported) throw new Error(`no export ${String(args)}`);
        return recurse(exported.value, exported.stack);
      }
      if (fn === 'Fn::Join') {
        const [separator, parts] = args as [string, CfnValue[]];
        return parts.map((part) => recurse(part, inStack)).join(separator);
      }
      if (fn === 'Fn::Select') {
        // Only as CDK writes it to take a part of a URL: a part of a split string.
        const [index, list] = args as [number, { 'Fn::Split'?: [string, CfnValue] }];
        if (!list['Fn::Split']) throw new Error('cannot resolve Fn::Select of anything but Fn::Split');
        const [separator, whole] = list['Fn::Split'];
        const part = recurse(whole, inStack).split(separator)[index];
        if (part === undefined) throw new Error(`Fn::Select: no part ${index}`);
        return part;
      }
      if (fn === 'Fn::Sub' && typeof args === 'string') {
        return args.replace(/\$\{([\w:]+)\}/g, (_, id: string) => pseudo[id] ?? name(inStack, id));
      }
      throw new Error(`cannot resolve ${fn}`);
    };
    return recurse(value, stack);
  }
}

/**
 * Stand-ins for a synthesized platform's resources, shaped like the real values (ARNs, queue URLs),
 * so the code's own config parsers can check what a function or task would be given.
 */
export function fakeResourceValues(platform: SynthesizedPlatform) {
  return (stack: string, id: string, attribute?: string): string => {
    const type = platform.template(stack).Resources[id]?.Type ?? '';
    if (type === 'AWS::SecretsManager::Secret')
      return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}`;
    if (attribute === 'Arn')
      return `arn:aws:${type.split('::')[1]?.toLowerCase()}:us-east-1:123456789012:${id}`;
    if (type === 'AWS::SQS::Queue') return `https://sqs.us-east-1.amazonaws.com/123456789012/${id}`;
    return id;
  };
}
