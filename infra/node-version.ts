// The project's one Node version: the exact `node` package pinned in package.json (the bootstrap runs
// every command on that binary). The runner image's base tag and the Lambda runtime are derived from
// it here, and `engines` is checked against it by a test, so the version tested is the one deployed.
import { readFileSync } from 'node:fs';
import { Runtime } from 'aws-cdk-lib/aws-lambda';

interface ProjectManifest {
  readonly devDependencies?: Readonly<Record<string, string>>;
}

const manifest = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as ProjectManifest;

/** The exact version of the pinned `node` package, e.g. `24.21.0`. */
export const PROJECT_NODE_VERSION = pinnedNodeVersion(manifest);

/** The major line (`24`): what Lambda and the image tag follow. */
export const PROJECT_NODE_MAJOR = Number(PROJECT_NODE_VERSION.split('.')[0]);

/** The runner image's base: the official slim image of exactly the tested version. */
export const RUNNER_NODE_IMAGE = `node:${PROJECT_NODE_VERSION}-bookworm-slim`;

/** Lambda's managed runtime of the same major line (`nodejs24.x`). */
export const LAMBDA_NODE_RUNTIME = lambdaRuntimeFor(PROJECT_NODE_MAJOR);

export function pinnedNodeVersion(project: ProjectManifest): string {
  const version = project.devDependencies?.node;
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(
      `package.json must pin the 'node' package to an exact version (found ${version ?? 'none'})`,
    );
  }
  return version;
}

function lambdaRuntimeFor(major: number): Runtime {
  const name = `nodejs${major}.x`;
  const known = Object.values(Runtime).find((runtime) => runtime instanceof Runtime && runtime.name === name);
  if (!(known instanceof Runtime)) throw new Error(`aws-cdk-lib has no Lambda runtime '${name}'`);
  return known;
}
