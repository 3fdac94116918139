// HTTP as a hostile client speaks it. `fetch` normalises paths (`..`, `%2e%2e`), refuses bodies on
// GET and odd header values, and keeps Content-Length honest; these send what they are given.
import { Agent, request } from 'node:http';
import { connect } from 'node:net';

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
  // node:http sends a GET's body unframed unless told its length (fetch and curl frame it); a body
  // with `transfer-encoding: chunked` is sent in chunks, without a length.
  const framing = ['content-length', 'transfer-encoding'];
  const framed =
    raw.body === undefined || Object.keys(raw.headers).some((name) => framing.includes(name.toLowerCase()))
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

/**
 * Writes `bytes` on a fresh connection, half-closes it after `closeAfterMs` (so a server waiting for
 * a body that was promised but never sent sees the end of it) and parses the one answer that comes
 * back. Null when the server closed without answering.
 */
export function sendBytes(
  baseUrl: string,
  bytes: Uint8Array,
  options: { closeAfterMs?: number; timeoutMs?: number } = {},
): Promise<RawResponse | null> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timeout = setTimeout(
      () => socket.destroy(new Error('no answer in time')),
      options.timeoutMs ?? 40_000,
    );
    const halfClose = setTimeout(() => socket.end(), options.closeAfterMs ?? 300);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timeout);
      clearTimeout(halfClose);
      // A reset after an answer still counts as that answer.
      const answer = parseResponse(Buffer.concat(chunks));
      if (answer) resolve(answer);
      else if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(null);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timeout);
      clearTimeout(halfClose);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
  });
}

/** The first HTTP/1.1 response in `data` (Content-Length, chunked, or until the end). */
export function parseResponse(data: Buffer): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = unchunk(body);
  return { status, headers, text: body.toString('utf8') };
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
}
