// The CDK app (`npx cdk synth`, `npx cdk deploy`): the stateful stack and the runner stack
// (infra/runner-stack.ts: the runner's image, network and Fargate service); the functions' stack
// joins in a later issue. The CLI hands cdk.json's context to the App itself, so this is a plain
// `new App()`.
import { App } from 'aws-cdk-lib';
import { definePlatform } from './platform-app.ts';

const app = new App();
definePlatform(app);
app.synth();
