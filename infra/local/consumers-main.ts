// The queue consumers as their own process (`npm start` runs it beside the API and the runner),
// configured through the environment like the Lambda functions.
import { startLocalConsumers } from './consumers-platform.ts';

const consumers = startLocalConsumers({ env: process.env });
process.send?.({
  ready: consumers.consumers.map((consumer) => ({ name: consumer.name, queueUrl: consumer.queueUrl })),
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    consumers.stop().then(() => process.exit(0));
  });
}
