import { PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { optionalString, type ResourceHandler } from './resource-handler.ts';

/** A metric alarm, so `npm start` shows the stack's alarms (moto keeps them; it evaluates none). */
export const cloudWatchAlarm: ResourceHandler = {
  properties: [
    'AlarmName',
    'AlarmDescription',
    'ComparisonOperator',
    'EvaluationPeriods',
    'DatapointsToAlarm',
    'MetricName',
    'Namespace',
    'Dimensions',
    'Period',
    'Statistic',
    'Threshold',
    'TreatMissingData',
    'ActionsEnabled',
    'AlarmActions',
    'OKActions',
    'InsufficientDataActions',
  ],
  async create({ logicalId, properties, context }) {
    const alarmName = optionalString(properties, 'AlarmName') ?? `${context.stackName}-${logicalId}`;
    const list = (name: string) => (properties[name] as string[] | undefined) ?? [];
    await context.clients.cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarmName,
        AlarmDescription: optionalString(properties, 'AlarmDescription'),
        ComparisonOperator:
          properties.ComparisonOperator as PutMetricAlarmCommand['input']['ComparisonOperator'],
        EvaluationPeriods: Number(properties.EvaluationPeriods),
        ...(properties.DatapointsToAlarm === undefined
          ? {}
          : { DatapointsToAlarm: Number(properties.DatapointsToAlarm) }),
        MetricName: optionalString(properties, 'MetricName'),
        Namespace: optionalString(properties, 'Namespace'),
        Dimensions: properties.Dimensions as { Name: string; Value: string }[] | undefined,
        Period: properties.Period === undefined ? undefined : Number(properties.Period),
        Statistic: properties.Statistic as PutMetricAlarmCommand['input']['Statistic'],
        Threshold: Number(properties.Threshold),
        TreatMissingData: optionalString(properties, 'TreatMissingData'),
        ActionsEnabled:
          properties.ActionsEnabled === undefined ? undefined : properties.ActionsEnabled !== false,
        AlarmActions: list('AlarmActions'),
        OKActions: list('OKActions'),
        InsufficientDataActions: list('InsufficientDataActions'),
      }),
    );
    return { physicalId: alarmName, ref: alarmName, attributes: { Arn: alarmName } };
  },
};
