// One emulator for the whole integration suite: moto on a free port with the stateful stack
// provisioned in it, or, with CLINIC_WA_EXTERNAL_AWS=1, the emulator at AWS_ENDPOINT_URL
// (LocalStack, say), provisioned the same way and left running afterwards.
import type { TestProject } from 'vitest/node';
import { startLocalAws } from '../../infra/local/local-aws.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.CLINIC_WA_EXTERNAL_AWS === '1' ? process.env.AWS_ENDPOINT_URL : undefined;
  if (process.env.CLINIC_WA_EXTERNAL_AWS === '1' && !external) {
    throw new Error('CLINIC_WA_EXTERNAL_AWS=1 needs AWS_ENDPOINT_URL (the emulator to provision into)');
  }
  const localAws = await startLocalAws({ externalEndpoint: external });
  const { emulatorMs, synthMs, provisionMs } = localAws.timings;
  console.log(
    `local AWS at ${localAws.endpoint}${external ? ' (external)' : ''}: emulator ${emulatorMs} ms, ` +
      `synth ${synthMs} ms, provisioning ${localAws.stack.resources.length} resources ${provisionMs} ms`,
  );
  project.provide('localAws', { endpoint: localAws.endpoint, region: localAws.region, env: localAws.env });
  return () => localAws.stop();
}
