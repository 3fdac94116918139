// How the dashboard's files reach the dashboard stack: built at synthesis by the project's own
// script (`npm run dashboard:build <dir>`, Vite on this machine: CDK's local bundling, no Docker),
// or taken as already built from a directory named by context (`-c dashboardAssets=<dir>`), for a
// pipeline that builds once and deploys the same files everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import { type ISource, Source } from 'aws-cdk-lib/aws-s3-deployment';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `npm run dashboard:build <outputDir>` in the project; the build must leave an `index.html`. */
export class DashboardBuild implements ILocalBundling {
  constructor(private readonly projectRoot: string = PROJECT_ROOT) {}

  tryBundle(outputDir: string): boolean {
    const build = spawnSync('npm', ['run', '--silent', 'dashboard:build', '--', outputDir], {
      cwd: this.projectRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: process.env,
    });
    if (build.error) throw new Error(`npm run dashboard:build could not start: ${build.error.message}`);
    if (build.status !== 0) throw new Error(`npm run dashboard:build failed (exit ${build.status})`);
    requireIndex(outputDir, 'npm run dashboard:build');
    // Never false: CDK would fall back to building in Docker, which this project does not use.
    return true;
  }
}

/**
 * The dashboard's files: the directory `prebuilt` names (it must hold an `index.html`), else a build
 * at synthesis. The build's hash is its output's, so the project's sources are never fingerprinted;
 * an app that skips bundling (tests, `cdk deploy` of another stack) runs no build at all.
 */
export function dashboardAssets(prebuilt?: string, projectRoot: string = PROJECT_ROOT): ISource {
  if (prebuilt !== undefined) {
    const directory = resolve(prebuilt);
    requireIndex(directory, 'context dashboardAssets');
    return Source.asset(directory);
  }
  return Source.asset(projectRoot, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      local: new DashboardBuild(projectRoot),
      // Required by CDK's types; never pulled, as the local build either succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
    },
  });
}

function requireIndex(directory: string, what: string): void {
  const index = join(directory, 'index.html');
  if (!existsSync(index) || !statSync(index).isFile()) {
    throw new Error(`${what}: ${directory} holds no index.html (the dashboard's build output)`);
  }
}
