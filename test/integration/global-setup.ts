// One emulator for the whole integration suite: moto on a free port with the stateful stack
// provisioned in it, or, with CLINIC_WA_EXTERNAL_AWS=1, the emulator at AWS_ENDPOINT_URL
// (LocalStack, say), provisioned the same way and left running afterwards.
import type { TestProject } from 'vitest/node';
import { localAwsOptionsFromEnvironment, startLocalAws } from '../../infra/local/local-aws.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Only the external-emulator switch applies: a pinned port is for `npm start`, which may be running.
  const { externalEndpoint } = localAwsOptionsFromEnvironment();
  const localAws = await startLocalAws({ externalEndpoint });
  const { emulatorMs, synthMs, provisionMs } = localAws.timings;
  console.log(
    `local AWS at ${localAws.endpoint}${externalEndpoint ? ' (external)' : ''}: emulator ${emulatorMs} ms, ` +
      `synth ${synthMs} ms, provisioning ${localAws.stack.resources.length} resources ${provisionMs} ms`,
  );
  project.provide('localAws', { endpoint: localAws.endpoint, region: localAws.region, env: localAws.env });
  return () => localAws.stop();
}
