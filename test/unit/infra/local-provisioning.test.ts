// The provisioner's checks and template arithmetic, without an emulator: every failure here happens
// before the first request (the endpoint below is never contacted).
import { describe, expect, it } from 'vitest';
import { provisionFromTemplate } from '#infra/local/provision.ts';
import { NAME_RULES, physicalName } from '#infra/local/provisioning/physical-names.ts';
import { referencedIds, resolveValue } from '#infra/local/provisioning/template-values.ts';
import { synthesizeStatefulStack } from '#infra/local/synthesize.ts';
import { platform, SynthesizedPlatform } from './support.ts';

const nowhere = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', stackName: 'Test' };

describe('provisionFromTemplate refuses what it cannot create faithfully', () => {
  it('names an unknown resource type', async () => {
    const template = {
      Resources: {
        Handler: { Type: 'AWS::Lambda::Function', Properties: {} },
        Cleanup: { Type: 'Custom::S3AutoDeleteObjects', Properties: {} },
      },
    };
    await expect(provisionFromTemplate(template, nowhere)).rejects.toThrow(
      /Handler: resource type AWS::Lambda::Function is not supported[\s\S]*Cleanup: resource type Custom::S3AutoDeleteObjects/,
    );
  });

  it('names a property it would otherwise drop', async () => {
    const template = {
      Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true, Colour: 'blue' } } },
    };
    await expect(provisionFromTemplate(template, nowhere)).rejects.toThrow(
      /Queue \(AWS::SQS::Queue\): properties not supported locally: Colour/,
    );
  });

  it('names the resources of a dependency cycle', async () => {
    const template = {
      Resources: {
        A: {
          Type: 'AWS::SQS::Queue',
          Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['B', 'Arn'] } } },
        },
        B: { Type: 'AWS::SQS::Queue', DependsOn: 'A' },
      },
    };
    await expect(provisionFromTemplate(template, nowhere)).rejects.toThrow(
      /Circular dependency between A, B/,
    );
  });
});

describe('template values', () => {
  const scope = {
    pseudoParameters: { 'AWS::AccountId': '123456789012', 'AWS::Region': 'us-east-1' },
    parameters: {},
    resources: new Map([
      ['Queue', { ref: 'http://q/Queue', attributes: { Arn: 'arn:aws:sqs:us-east-1:1:Queue' } }],
    ]),
  };

  it('resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub and drops AWS::NoValue', () => {
    expect(
      resolveValue(
        {
          Url: { Ref: 'Queue' },
          Joined: { 'Fn::Join': [',', [{ Ref: 'Queue' }, { 'Fn::GetAtt': ['Queue', 'Arn'] }]] },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
          Sub: { 'Fn::Sub': 'arn:aws:iam::${AWS::AccountId}:root ${Queue.Arn} ${!Literal}' },
          Gone: { Ref: 'AWS::NoValue' },
          List: ['a', { Ref: 'AWS::NoValue' }, { 'Fn::Select': [1, { 'Fn::Split': ['/', 'x/y/z'] }] }],
        },
        scope,
      ),
    ).toEqual({
      Url: 'http://q/Queue',
      Joined: 'http://q/Queue,arn:aws:sqs:us-east-1:1:Queue',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
      Sub: 'arn:aws:iam::123456789012:root arn:aws:sqs:us-east-1:1:Queue ${Literal}',
      List: ['a', 'y'],
    });
  });

  it('fails by name on an intrinsic it does not know', () => {
    expect(() => resolveValue({ 'Fn::ImportValue': 'x' }, scope)).toThrow(/Fn::ImportValue is not supported/);
  });

  it('finds the resources a value depends on', () => {
    expect([
      ...referencedIds({
        a: { Ref: 'Table' },
        b: { 'Fn::GetAtt': ['Key', 'Arn'] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
        c: { 'Fn::Sub': '${Bus.Arn}/${AWS::Region}/${!Nope}' },
      }),
    ]).toEqual(['Table', 'Key', 'Bus', 'AWS::Region']);
  });
});

describe('physical names', () => {
  it('keeps FIFO queue names within 80 characters, ending in .fifo, deterministically', () => {
    const name = physicalName('ClinicWa-Stateful', `CommandQueuesShard15${'X'.repeat(80)}`, {
      ...NAME_RULES.queue,
      suffix: '.fifo',
    });
    expect(name).toHaveLength(80);
    expect(name).toMatch(/^ClinicWa-Stateful-CommandQueuesShard15X+-[0-9a-f]{8}\.fifo$/);
    expect(
      physicalName('ClinicWa-Stateful', `CommandQueuesShard15${'X'.repeat(80)}`, {
        ...NAME_RULES.queue,
        suffix: '.fifo',
      }),
    ).toBe(name);
  });

  it('makes valid bucket names', () => {
    expect(physicalName('ClinicWa-Stateful', 'MediaBucket4022EBBF', NAME_RULES.bucket)).toBe(
      'clinicwa-stateful-mediabucket4022ebbf',
    );
  });
});

describe('local synthesis', () => {
  it('synthesizes the stateful stack alone, nothing it does not provision', () => {
    const { stackName, template } = synthesizeStatefulStack({ shardCount: 2 });
    expect(stackName).toBe('ClinicWa-Stateful');
    const types = new Set(Object.values(template.Resources).map((resource) => resource.Type));
    expect(
      [...types].filter((type) => /^AWS::(ECS|EC2|ApplicationAutoScaling|Lambda|ApiGateway)::/.test(type)),
    ).toEqual([]);
    expect(Object.keys(template.Outputs ?? {})).toEqual(['RuntimeEnvironment']);
  });

  it('gives it the very resources it has beside the other stacks, as `cdk synth` makes it', () => {
    const alone = synthesizeStatefulStack({ shardCount: 2 }).template;
    const beside = new SynthesizedPlatform(platform({ shardCount: 2 }).app).template('ClinicWa-Stateful');
    expect(alone.Resources).toEqual(beside.Resources);
  });
});
