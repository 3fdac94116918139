// The X-Ray tracer, for the Lambda functions only. Loading it installs async hooks through the X-Ray
// SDK that make every promise in the process about ten times dearer (measured: 300k awaits 40 ms →
// 450 ms); the runner, whose thousands of sockets live on promises, must never import this module
// (a unit test holds it to that).
import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './observability.ts';

export const tracer = new Tracer({ serviceName: SERVICE_NAME });
