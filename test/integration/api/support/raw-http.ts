// HTTP as a hostile client speaks it. `fetch` normalises paths (`..`, `%2e%2e`) and refuses bodies
// on GET and odd header values; this sends what it is given.
import { Agent, request } from 'node:http';

export interface RawRequest {
  readonly method: string;
  /** Sent as is: not normalised, not re-encoded (bytes 0x21–0xff). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

const agents = new Map<string, Agent>();

/** One keep-alive connection per server, as a client library would hold. */
function agentFor(origin: string): Agent {
  let agent = agents.get(origin);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 4 });
    agents.set(origin, agent);
  }
  return agent;
}

/** Sends one request with node:http (which still frames it correctly) and reads the whole answer. */
export function sendRaw(baseUrl: string, raw: RawRequest, timeoutMs = 40_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  // node:http sends a GET's body unframed unless told its length (fetch and curl frame it).
  const framed =
    raw.body === undefined || Object.keys(raw.headers).some((name) => name.toLowerCase() === 'content-length')
      ? raw.headers
      : { ...raw.headers, 'content-length': String(Buffer.byteLength(raw.body)) };
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: raw.method,
        path: raw.path,
        headers: framed,
        agent: agentFor(url.origin),
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: flatHeaders(response.headers),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(raw.body);
  });
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
}
