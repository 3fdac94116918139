// A DynamoDB endpoint in front of the emulator's, for a runner process to use (it reads
// AWS_ENDPOINT_URL_DYNAMODB like any other): the test decides for each request whether it goes
// through, goes through without its answer ever coming back (the write happened; the caller never
// hears of it), or waits unanswered. A crash can then be placed between two steps of the runner
// without anything test-only inside the runner.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  /** The DynamoDB operation, e.g. `TransactWriteItems`. */
  readonly operation: string;
  readonly body: string;
}

export type Verdict = 'forward' | 'forward_unanswered' | 'hold';

export interface DynamoProxy {
  readonly url: string;
  /** Requests held or left unanswered so far. */
  readonly stalled: number;
  /** Cuts the connections of the requests held so far: their callers see an error (and may retry). */
  dropHeld(): void;
  close(): Promise<void>;
}

export async function startDynamoProxy(
  upstream: string,
  decide: (request: ProxiedRequest) => Verdict,
): Promise<DynamoProxy> {
  const target = new URL(upstream);
  const open = new Set<ServerResponse>();
  let stalled = 0;

  const forward = (incoming: IncomingMessage, body: Buffer, answer: ServerResponse | null) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: target.host },
      },
      (response) => {
        if (!answer) {
          response.resume();
          return;
        }
        answer.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(answer);
      },
    );
    outgoing.on('error', () => answer?.destroy());
    outgoing.end(body);
  };

  const server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const verdict = decide({ operation, body: body.toString('utf8') });
      if (verdict === 'forward') {
        forward(incoming, body, answer);
        return;
      }
      stalled++;
      open.add(answer);
      answer.on('close', () => open.delete(answer));
      if (verdict === 'forward_unanswered') forward(incoming, body, null);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get stalled() {
      return stalled;
    },
    dropHeld() {
      for (const answer of open) answer.destroy();
    },
    async close() {
      for (const answer of open) answer.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
