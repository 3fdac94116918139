// `npm run dashboard:build -- <outDir>`: the dashboard's static files, built by Vite into outDir
// (default .local/dashboard/). Deterministic: the same sources give the same file names and bytes,
// so a deployment (S3 + CloudFront) can call it and upload the folder.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { dashboardConfig } from '../vite.config.ts';

export async function buildDashboard(
  outDir: string,
  logLevel: 'info' | 'warn' | 'silent' = 'warn',
): Promise<void> {
  // Vite builds for whatever NODE_ENV says when it is set (vitest sets `test`: a third larger, with
  // development-only code), so the same sources would give other bytes under a test runner.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build(dashboardConfig({ outDir: resolve(outDir), logLevel }));
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../../.local/dashboard', import.meta.url));
  await buildDashboard(outDir, 'info');
  console.log(`dashboard built into ${resolve(outDir)}`);
}
