// The local API as its own process (`npm start` runs it beside the runner): the functions and the
// authorizer behind the local front, configured through the environment like the Lambda functions.
import { startLocalApi } from './api-platform.ts';

const port = Number(process.env.LOCAL_API_PORT ?? 3000);
const front = await startLocalApi({ env: process.env, port });
process.send?.({ ready: front.url });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    front.stop().then(() => process.exit(0));
  });
}
