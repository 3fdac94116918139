// The dashboard's Vite configuration: one function, so the build script, the local server
// (infra/local/dashboard-server.ts) and `npm run dashboard:dev` build it the same way. Preact's JSX
// is esbuild's automatic runtime pointed at preact: no Vite plugin needed for that.
import { fileURLToPath } from 'node:url';
import type { InlineConfig } from 'vite';

export const DASHBOARD_ROOT = fileURLToPath(new URL('.', import.meta.url));

export interface DashboardConfigOptions {
  /** Where `vite build` writes the app. */
  readonly outDir?: string;
  /** The API the dev server proxies `/v1/*` to, so the page stays same-origin as on CloudFront. */
  readonly apiUrl?: string;
  readonly logLevel?: InlineConfig['logLevel'];
}

export function dashboardConfig(options: DashboardConfigOptions = {}): InlineConfig {
  return {
    configFile: false,
    root: DASHBOARD_ROOT,
    base: '/',
    // Not node_modules/.vite: the install is shared between checkouts; `.local/` is this checkout's.
    cacheDir: fileURLToPath(new URL('../.local/vite-cache', import.meta.url)),
    logLevel: options.logLevel ?? 'info',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: {
      outDir: options.outDir ?? fileURLToPath(new URL('../.local/dashboard', import.meta.url)),
      emptyOutDir: true,
      target: 'es2022',
      // Every file by name under assets/: no data: URLs, so the content security policy stays 'self'.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
    },
    server: {
      ...(options.apiUrl ? { proxy: { '/v1': { target: options.apiUrl, changeOrigin: true } } } : {}),
    },
  };
}

// `vite --config dashboard/vite.config.ts` (npm run dashboard:dev): the dev server with the proxy.
export default dashboardConfig({ apiUrl: process.env.DASHBOARD_API_URL ?? 'http://127.0.0.1:3000' });
