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
  await build(dashboardConfig({ outDir: resolve(outDir), logLevel }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../../.local/dashboard', import.meta.url));
  await buildDashboard(outDir, 'info');
  console.log(`dashboard built into ${resolve(outDir)}`);
}
