// The dashboard on this machine, served as CloudFront serves it on AWS: the built files with the
// same security headers, any other page path answered with index.html (the app routes by path),
// and `/v1/*` passed to the API, so the page and the API share one origin and no CORS is needed.
// The app is built first (Vite's JS API) when the build is missing or older than its sources.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from '../../dashboard/tools/build.ts';
import { securityHeaders } from '../../dashboard/tools/security-headers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_DASHBOARD_DIR = join(root, '.local', 'dashboard');

/** What the build reads: a change to any of them makes the build stale. */
const SOURCES = [
  join(root, 'dashboard', 'src'),
  join(root, 'dashboard', 'index.html'),
  join(root, 'dashboard', 'vite.config.ts'),
];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export interface DashboardServerOptions {
  /** The API the page talks to; `/v1/*` is proxied there. */
  readonly apiUrl: string;
  readonly port?: number;
  readonly host?: string;
  /** Where the built app is kept (default `.local/dashboard/`). */
  readonly outDir?: string;
  /** Origins media download URLs point at (the local S3 endpoint), allowed by the CSP for media. */
  readonly mediaOrigins?: readonly string[];
}

export interface DashboardServer {
  readonly url: string;
  readonly server: Server;
  /** Whether this start built the app (`built`) or found it current (`current`). */
  readonly build: 'built' | 'current';
  stop(): Promise<void>;
}

function newestModification(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(
    stats.mtimeMs,
    ...readdirSync(path, { withFileTypes: true }).map((entry) => newestModification(join(path, entry.name))),
  );
}

/** Builds the app into `outDir` unless its index.html is newer than every source. */
export async function ensureDashboardBuild(outDir = DEFAULT_DASHBOARD_DIR): Promise<'built' | 'current'> {
  const index = join(outDir, 'index.html');
  const sourcesChanged = Math.max(...SOURCES.map(newestModification));
  if (existsSync(index) && statSync(index).mtimeMs >= sourcesChanged) return 'current';
  // Built beside, then swapped in: a server (or a second start) never sees half a build.
  const staging = `${outDir}.building-${randomUUID().slice(0, 8)}`;
  mkdirSync(join(staging, '..'), { recursive: true });
  try {
    await buildDashboard(staging, 'warn');
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return 'built';
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const outDir = resolve(options.outDir ?? DEFAULT_DASHBOARD_DIR);
  const build = await ensureDashboardBuild(outDir);
  const api = new URL(options.apiUrl);
  const headers = securityHeaders({ https: false, mediaOrigins: options.mediaOrigins ?? [] });

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path === '/v1' || path.startsWith('/v1/')) return proxy(request, response, api);
    serveFile(path, request, response, outDir, headers);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    build,
    stop: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

function serveFile(
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
  outDir: string,
  headers: Record<string, string>,
): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    response.end('Method not allowed\n');
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = '/';
  }
  const file = normalize(join(outDir, decoded));
  const inside = file.startsWith(outDir + sep);
  const found = inside && existsSync(file) && statSync(file).isFile() ? file : null;
  // A missing asset is a 404 (a stale page asking for an old bundle should fail, not get HTML);
  // any other path is a page of the app.
  if (!found && (decoded.startsWith('/assets/') || extname(decoded) !== '')) {
    response.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    response.end('Not found\n');
    return;
  }
  const served = found ?? join(outDir, 'index.html');
  const hashed = served.startsWith(join(outDir, 'assets') + sep);
  response.writeHead(200, {
    ...headers,
    'content-type': CONTENT_TYPES[extname(served)] ?? 'application/octet-stream',
    'content-length': String(statSync(served).size),
    // Bundles are named by their content; index.html must be asked for again to find new ones.
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(served).pipe(response);
}

/** `/v1/*` to the API as it came (method, headers, body streamed both ways). */
function proxy(request: IncomingMessage, response: ServerResponse, api: URL): void {
  const upstream = httpRequest(
    {
      protocol: api.protocol,
      hostname: api.hostname,
      port: api.port,
      method: request.method,
      path: request.url,
      headers: { ...request.headers, host: api.host },
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', () => {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(502, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        error: {
          code: 'api_unreachable',
          message: 'The dashboard server could not reach the API',
          requestId: randomUUID(),
        },
      }),
    );
  });
  request.pipe(upstream);
}
