// The CDK app (`npx cdk synth`, `npx cdk deploy`): the stateful stack, the API stack
// (infra/api-stack.ts: the REST API, its functions and the admin key) and the runner stack
// (infra/runner-stack.ts: the runner's image, network and Fargate service). The CLI hands cdk.json's
// context to the App itself, so this is a plain `new App()`.
import { App } from 'aws-cdk-lib';
import { definePlatform } from './platform-app.ts';

const app = new App();
definePlatform(app);
app.synth();
