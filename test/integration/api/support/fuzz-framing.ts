// Requests as bytes on the wire, framed wrongly on purpose: Content-Length that lies, chunked bodies
// that are not, both at once, request lines and headers an HTTP parser must refuse. What the server
// cannot parse never reaches a route; it must still be answered in the API's error body.
import fc from 'fast-check';
import type { TenantFixture } from './tenant-fixtures.ts';

export interface FramedRequest {
  /** As the server reads it. */
  readonly method: string;
  readonly path: string;
  readonly bytes: Buffer;
  /** A body shorter than its Content-Length: the client gives up and half-closes. */
  readonly promisesMore: boolean;
}

type Framing =
  | 'honest'
  | 'short-length'
  | 'long-length'
  | 'negative-length'
  | 'length-not-a-number'
  | 'two-lengths'
  | 'chunked'
  | 'bad-chunks'
  | 'unterminated-chunks'
  | 'length-and-chunked'
  | 'odd-transfer-encoding';

const FRAMINGS: readonly Framing[] = [
  'honest',
  'short-length',
  'long-length',
  'negative-length',
  'length-not-a-number',
  'two-lengths',
  'chunked',
  'bad-chunks',
  'unterminated-chunks',
  'length-and-chunked',
  'odd-transfer-encoding',
];

function frame(
  framing: Framing,
  body: Buffer,
): { headers: string[]; payload: Buffer; promisesMore: boolean } {
  const length = body.length;
  const chunked = Buffer.concat([
    Buffer.from(`${length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ]);
  switch (framing) {
    case 'honest':
      return { headers: [`content-length: ${length}`], payload: body, promisesMore: false };
    case 'short-length':
      return { headers: [`content-length: ${Math.max(0, length - 3)}`], payload: body, promisesMore: false };
    case 'long-length':
      return { headers: [`content-length: ${length + 50}`], payload: body, promisesMore: true };
    case 'negative-length':
      return { headers: ['content-length: -1'], payload: body, promisesMore: false };
    case 'length-not-a-number':
      return { headers: ['content-length: 12abc'], payload: body, promisesMore: false };
    case 'two-lengths':
      return {
        headers: [`content-length: ${length}`, `content-length: ${length + 1}`],
        payload: body,
        promisesMore: false,
      };
    case 'chunked':
      return { headers: ['transfer-encoding: chunked'], payload: chunked, promisesMore: false };
    case 'bad-chunks':
      return {
        headers: ['transfer-encoding: chunked'],
        payload: Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]),
        promisesMore: false,
      };
    case 'unterminated-chunks':
      return {
        headers: ['transfer-encoding: chunked'],
        payload: chunked.subarray(0, -7),
        promisesMore: true,
      };
    case 'length-and-chunked':
      return {
        headers: [`content-length: ${length}`, 'transfer-encoding: chunked'],
        payload: chunked,
        promisesMore: false,
      };
    case 'odd-transfer-encoding':
      return { headers: ['transfer-encoding: chunked, identity'], payload: chunked, promisesMore: false };
  }
}

const requestLine = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('POST', 'GET') },
    fc.constantFrom('FOO', 'get', 'P0ST', 'POST '),
  ),
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
    fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', 'HTTP/9.9', ''),
  ),
});

const oddHeaders = fc.array(
  fc.constantFrom(
    'x-folded: first\r\n second',
    'bad name: x',
    'x-nul: a\u0000b',
    'no-colon-here',
    `x-padding: ${'p'.repeat(20_000)}`,
    'host: other.example',
    ': empty-name',
  ),
  { maxLength: 2 },
);

/** A request of `actor`'s to create a channel or list its messages, framed by chance. */
export function framedRequest(actor: TenantFixture): fc.Arbitrary<FramedRequest> {
  const body = fc.oneof(
    fc.constant(Buffer.from('{"name":"Recepção"}')),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  );
  return fc
    .record({
      line: requestLine,
      path: fc.constantFrom('/v1/channels', `/v1/channels/${actor.channels.sendable}/messages`),
      framing: fc.constantFrom(...FRAMINGS),
      body,
      odd: oddHeaders,
      withHost: fc.boolean(),
    })
    .map(({ line, path, framing, body, odd, withHost }) => {
      const { headers, payload, promisesMore } = frame(framing, body);
      const head = [
        `${line.method} ${path} ${line.version}`.trimEnd(),
        ...(withHost ? ['host: 127.0.0.1'] : []),
        // One request per connection: the answer comes, then the server closes.
        'connection: close',
        `authorization: Bearer ${actor.key}`,
        'content-type: application/json',
        ...headers,
        ...odd,
      ];
      const bytes = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
      return Object.assign(
        // Node reads `POST  /path` (two spaces) as a POST.
        { method: line.method.trim(), path, bytes, promisesMore },
        { [fc.toStringMethod]: () => summarizeBytes(bytes) },
      );
    });
}

function summarizeBytes(bytes: Buffer): string {
  const text = JSON.stringify(bytes.toString('latin1'));
  return text.length > 600 ? `${text.slice(0, 600)}…(${bytes.length} bytes)` : text;
}
