// The local stand-in for API Gateway (REST API, Lambda proxy integration): a plain HTTP server that
// turns each request into the event API Gateway would send, runs the authorizer as API Gateway does
// (cached per `Authorization` value), calls the route's function handler and writes its answer back.
// Before any of that it refuses a body too large for a Lambda event, as the web ACL in front of the
// stage does on AWS. No route logic lives here: routes, gateway responses and limits come from
// functions/http.
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import type { AuthorizerHandler } from '#functions/authorizer/authorizer.ts';
import { bodyTooLargeResponse, MAX_REQUEST_BODY_BYTES } from '#functions/http/edge-limits.ts';
import {
  AUTHORIZER_CACHE_SECONDS,
  BINARY_MEDIA_TYPES,
  GATEWAY_RESPONSES,
  type GatewayResponse,
  gatewayResponseBody,
  INTEGRATION_TIMEOUT_MS,
} from '#functions/http/gateway-responses.ts';
import type { ApiHandler } from '#functions/http/lambda.ts';
import { type FunctionFamily, ROUTES, type RouteSpec } from '#functions/http/routes.ts';

/**
 * API Gateway's REST API payload limit. The body limit is lower (MAX_REQUEST_BODY_BYTES), so a body
 * this large is refused before; past it, what is left of a refused body is not even read.
 */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const STAGE = 'local';
const ACCOUNT = '000000000000';
const API_ID = 'local';

export interface ApiFrontOptions {
  readonly port?: number;
  readonly host?: string;
  readonly handlers: Readonly<Record<FunctionFamily, ApiHandler>>;
  readonly authorizer: AuthorizerHandler;
  readonly authorizerCacheSeconds?: number;
}

export interface ApiFront {
  readonly url: string;
  readonly server: Server;
  stop(): Promise<void>;
}

interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export async function startApiFront(options: ApiFrontOptions): Promise<ApiFront> {
  const routes = ROUTES.map(compile);
  const authorizations = new Map<string, { until: number; result: APIGatewayAuthorizerResult }>();
  const cacheMs = (options.authorizerCacheSeconds ?? AUTHORIZER_CACHE_SECONDS) * 1000;

  // Node would answer a missing Host with a bare 400 of its own; `handle` answers it in the API's body.
  const server = createServer({ requireHostHeader: false }, (request, response) => {
    handle(request, response).catch((error) => {
      // A body the parser gave up on (cut short, badly chunked): answerUnparsable answers that.
      if (request.destroyed && !request.complete) return;
      console.error('api front: request failed', error);
      if (!response.headersSent) gateway(response, GATEWAY_RESPONSES.default5xx, randomUUID());
      else response.destroy();
    });
  });
  server.on('clientError', answerUnparsable);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = targetUrl(request.url);
    // As the web ACL does on AWS: by the declared length before reading anything, and a body without
    // one (chunked) by counting as it comes.
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_REQUEST_BODY_BYTES)
      return refuseBody(request, response, requestId, 0);
    const body = await readBody(request, MAX_REQUEST_BODY_BYTES);
    if (body === null) return refuseBody(request, response, requestId, MAX_REQUEST_BODY_BYTES + 1);
    if (!url || (request.httpVersion === '1.1' && request.headers.host === undefined))
      return gateway(response, GATEWAY_RESPONSES.default4xx, requestId);
    const match = matchRoute(routes, request.method ?? 'GET', url.pathname);
    if (!match) return gateway(response, GATEWAY_RESPONSES.missingRoute, requestId);
    const headers = singleHeaders(request);

    let authorizer: Record<string, string> | null = null;
    if (match.spec.access.kind !== 'public') {
      const authorization = headers.authorization ?? headers.Authorization;
      if (!authorization) return gateway(response, GATEWAY_RESPONSES.unauthorized, requestId);
      const decision = await authorize(authorization, match.spec, url.pathname, requestId, headers);
      if (decision === 'unauthorized') return gateway(response, GATEWAY_RESPONSES.unauthorized, requestId);
      if (decision === 'failed') return gateway(response, GATEWAY_RESPONSES.authorizerFailure, requestId);
      authorizer = decision;
    }

    const event = proxyEvent(request, url, headers, body, match, requestId, authorizer);
    const handler = options.handlers[match.spec.family];
    let result: APIGatewayProxyResult;
    try {
      result = await withTimeout(
        handler(event, lambdaContext(match.spec.family, requestId)),
        INTEGRATION_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof IntegrationTimeout) return gateway(response, GATEWAY_RESPONSES.timeout, requestId);
      console.error(`api front: ${match.spec.family} function failed`, error);
      return gateway(response, GATEWAY_RESPONSES.default5xx, requestId);
    }
    write(response, result, requestId);
  }

  async function authorize(
    authorization: string,
    spec: RouteSpec,
    path: string,
    requestId: string,
    headers: Record<string, string>,
  ): Promise<Record<string, string> | 'unauthorized' | 'failed'> {
    const cached = authorizations.get(authorization);
    let result = cached && cached.until > Date.now() ? cached.result : undefined;
    if (!result) {
      const event: APIGatewayRequestAuthorizerEvent = {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:us-east-1:${ACCOUNT}:${API_ID}/${STAGE}/${spec.method}${path}`,
        resource: spec.path,
        path,
        httpMethod: spec.method,
        headers,
        multiValueHeaders: {},
        pathParameters: null,
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        stageVariables: null,
        requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
      };
      try {
        result = await options.authorizer(event, lambdaContext('authorizer', requestId));
      } catch (error) {
        if ((error as Error)?.message === 'Unauthorized') return 'unauthorized';
        console.error('api front: authorizer failed', error);
        return 'failed';
      }
      authorizations.set(authorization, { until: Date.now() + cacheMs, result });
    }
    const allowed = result.policyDocument.Statement.some(
      (statement) => 'Effect' in statement && statement.Effect === 'Allow',
    );
    if (!allowed) return 'unauthorized';
    return {
      principalId: result.principalId,
      ...Object.fromEntries(Object.entries(result.context ?? {}).map(([key, value]) => [key, String(value)])),
    };
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The request's target as a URL: a path (`//x` is a path too, not a network-path reference to a
 * host named x) or an absolute URL; null for anything else.
 */
function targetUrl(target = '/'): URL | null {
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target);
  } catch {
    return null;
  }
}

function compile(spec: RouteSpec): CompiledRoute {
  const names: string[] = [];
  const source = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { spec, pattern: new RegExp(`^${source}/?$`), names };
}

function matchRoute(routes: readonly CompiledRoute[], method: string, path: string) {
  for (const route of routes) {
    if (route.spec.method !== method) continue;
    const found = route.pattern.exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    try {
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1] ?? '');
      });
    } catch {
      return null;
    }
    return { spec: route.spec, params };
  }
  return null;
}

/** The body, or null as soon as more than `limit` bytes of it have come (the rest is left unread). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      request.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else settle(() => resolve(null));
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () => settle(() => reject(new Error('the request ended before its body')));
    request.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * 413 for a body over MAX_REQUEST_BODY_BYTES, at once, in a function's own words. What is left of the
 * body is read into nothing, so that closing with bytes unread cannot reset the connection under the
 * answer before the client reads it; the connection then serves the next request. Past API Gateway's
 * own limit the client is sending more than any gateway takes: the connection is dropped.
 */
function refuseBody(
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  alreadyRead: number,
): void {
  const answer = bodyTooLargeResponse(requestId);
  response.writeHead(answer.status, {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
  });
  response.end(JSON.stringify(answer.body));
  let received = alreadyRead;
  request.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > GATEWAY_MAX_BODY_BYTES) request.socket.destroy();
  });
  request.resume();
}

function singleHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index] as string;
    headers[name] = request.rawHeaders[index + 1] as string;
  }
  return headers;
}

function isBinary(contentType: string | undefined): boolean {
  if (!contentType) return BINARY_MEDIA_TYPES.includes('*/*');
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return BINARY_MEDIA_TYPES.some(
    (pattern) =>
      pattern === '*/*' ||
      (pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern),
  );
}

function proxyEvent(
  request: IncomingMessage,
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  match: { spec: RouteSpec; params: Record<string, string> },
  requestId: string,
  authorizer: Record<string, string> | null,
): APIGatewayProxyEvent {
  // Without a prototype, `?__proto__=…` is a parameter like any other, as API Gateway passes it.
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    multiQuery[key] = [...(multiQuery[key] ?? []), value];
  }
  const multiHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) multiHeaders[name] = [value];
  const contentType = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const binary = isBinary(contentType);
  return {
    resource: match.spec.path,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers,
    multiValueHeaders: multiHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(match.params).length ? match.params : null,
    stageVariables: null,
    body: body.length ? body.toString(binary ? 'base64' : 'utf8') : null,
    isBase64Encoded: binary && body.length > 0,
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      authorizer,
      httpMethod: request.method ?? 'GET',
      identity: {
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/${STAGE}${url.pathname}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: match.spec.operationId,
      resourcePath: match.spec.path,
      stage: STAGE,
    },
  };
}

function lambdaContext(name: string, requestId: string): Context {
  const deadline = Date.now() + INTEGRATION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `clinic-wa-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:clinic-wa-local-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/clinic-wa-local-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

class IntegrationTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IntegrationTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What Node's HTTP parser refuses (a header block over its 16 KB, a method or header it cannot
 * read, a body framed two ways or cut short) never becomes a request: it is answered here in the
 * API's error body, as API Gateway answers what it refuses itself, not with Node's bare status line.
 */
function answerUnparsable(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
  // A HEAD's answer has no body, even this one (the bytes that failed still show the request line).
  const toHead = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
  const answer =
    error.code === 'HPE_HEADER_OVERFLOW' ? GATEWAY_RESPONSES.tooLarge : GATEWAY_RESPONSES.default4xx;
  const requestId = randomUUID();
  const body = gatewayResponseBody(answer, requestId);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-amzn-requestid: ${requestId}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${toHead ? '' : body}`);
}

function gateway(response: ServerResponse, answer: GatewayResponse, requestId: string): void {
  response.writeHead(answer.status, {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
  });
  response.end(gatewayResponseBody(answer, requestId));
}

function write(response: ServerResponse, result: APIGatewayProxyResult, requestId: string): void {
  const headers: Record<string, string | string[]> = { 'x-amzn-requestid': requestId };
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name.toLowerCase()] = values.map(String);
  response.writeHead(result.statusCode, headers);
  response.end(
    result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : undefined,
  );
}
