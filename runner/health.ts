import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthReport {
  readonly healthy: boolean;
  readonly [detail: string]: unknown;
}

/** `GET /healthz`: 200 with the report while healthy, 503 otherwise (the ECS health check). */
export async function startHealthServer(
  port: number,
  report: () => HealthReport,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/healthz') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
      return;
    }
    const body = report();
    response
      .writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/healthz`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
