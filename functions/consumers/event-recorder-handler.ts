// Lambda: the event recorder (event-recorder.ts), on the recorder's two queues. Built once per
// container from its environment, like the API's functions.
import { createPlatform } from '#shared/platform.ts';
import { createEventRecorder } from './event-recorder.ts';

// The recorder publishes nothing (`source` names no event of it); its DynamoDB calls give up after
// 3 s and are tried twice, so a stuck call fails its record well within the function's timeout.
const platform = createPlatform({ source: 'api', dynamoTimeouts: 'request' });

export const handler = createEventRecorder(platform);
