import { createHash } from 'node:crypto';
import { ParameterValidationError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { Middleware, RequestContext } from '@aws-lambda-powertools/event-handler/types';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';
import { errorResponse, validationErrorOf } from '#shared/domain/error-body.ts';
import {
  MediaTooLargeError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { logger, metrics } from '#shared/observability.ts';
import { type Principal, principalOf, requireAdmin, requireTenantScope } from './principal.ts';
import { type FunctionFamily, PATH_PARAM_RESOURCES, ROUTES, type RouteSpec, routerPath } from './routes.ts';
import { IDEMPOTENCY_KEY } from './schemas.ts';

/** JSON bodies above this are refused (413) before they are parsed. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface RouteInput {
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
  /** Null on public routes only. */
  readonly principal: Principal | null;
  readonly requestId: string;
  readonly headers: Headers;
  /**
   * The request's `Idempotency-Key` (checked), on routes that take one; null without one. Powertools
   * runs the route once per key; a route whose effects must also survive a re-execution (a send
   * whose Lambda timed out before its response was kept) uses it too.
   */
  readonly idempotencyKey: string | null;
  /**
   * The body's bytes as the client sent them, for upload routes (the router's own request body is
   * text: Powertools decodes a base64 body as UTF-8, which would corrupt a file).
   */
  readonly rawBody: Buffer;
}

/** A JSON answer, or a body of another type (an image) as bytes or text. */
export type RouteResult =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Record<string, string> }
  | {
      readonly status: number;
      readonly raw: string | Uint8Array;
      readonly contentType: string;
      readonly headers?: Record<string, string>;
    };

export type RouteImplementation = (input: RouteInput) => Promise<RouteResult>;

/**
 * A route whose answer holds what no record may keep in clear (a secret shown once): `run` does the
 * work and returns what its idempotency record keeps (the secret sealed), once per `Idempotency-Key`;
 * `answer` makes the client's answer from that, after the run and again for every replay. `run` and
 * `answer` get the same `RouteInput` object, so a run may leave the answer what it has in hand.
 */
export interface AnsweredRoute {
  readonly run: RouteImplementation;
  readonly answer: (kept: RouteResult, input: RouteInput) => Promise<RouteResult>;
}

export type RouteDefinition = RouteImplementation | AnsweredRoute;

/** What every route of a family goes through between authorization and its implementation. */
export interface RouteGuards {
  /** The tenant's rate limit (`RateLimitedError`); admin and public routes are not limited. */
  limitRate?(tenantId: string): Promise<void>;
  /** Runs `run` at most once per tenant and `Idempotency-Key`, answering a replay with its result. */
  idempotent?(
    scope: { tenantId: string; operationId: string; key: string; request: unknown },
    run: () => Promise<RouteResult>,
  ): Promise<RouteResult>;
}

const NO_QUERY = z.object({});

/**
 * A Powertools router with the routes of one function family, each checked in this order: who is
 * calling (401/403), the route's path ids (404), the body's size and type (413/415), its schema
 * and query (400), the tenant's rate (429), then the implementation, once per `Idempotency-Key`
 * (and its `answer`, every time, for an `AnsweredRoute`). Every error becomes the API's error body
 * with the request's id.
 */
export function createApiRouter(
  family: FunctionFamily,
  implementations: Readonly<Record<string, RouteDefinition>>,
  guards: RouteGuards = {},
): Router {
  const router = new Router({ logger });
  router.use(routeMetrics);
  for (const spec of ROUTES.filter((route) => route.family === family)) {
    const definition = implementations[spec.operationId];
    if (!definition) throw new Error(`No implementation for ${spec.operationId}`);
    const { run: implementation, answer } =
      typeof definition === 'function' ? { run: definition, answer: null } : definition;
    // Every route validates its query (unknown parameters are dropped), and its body when it has one.
    // A body that may be left out is validated here instead (`optionalBody`): the router's own
    // validation would refuse an empty body sent as application/json before any schema saw it.
    const validatedBody = spec.request?.body && !spec.request.bodyOptional ? spec.request.body : undefined;
    const validation = {
      req: {
        query: spec.request?.query ?? NO_QUERY,
        ...(validatedBody ? { body: validatedBody } : {}),
      },
    };
    const checks = [authorize(spec), pathIds(spec), bodyLimits(spec)];
    router.route(
      async (reqCtx) => {
        const valid = (reqCtx as { valid?: { req?: { body?: unknown; query?: Record<string, unknown> } } })
          .valid?.req;
        const principal = principalFrom(reqCtx, spec);
        const tenantId = principal?.kind === 'tenant' ? principal.tenantId : null;
        if (tenantId) await guards.limitRate?.(tenantId);
        const header = reqCtx.req.headers.get('idempotency-key');
        const key = spec.idempotent && header !== null && guards.idempotent ? idempotencyKey(header) : null;
        const input: RouteInput = {
          params: reqCtx.params,
          query: valid?.query ?? {},
          body:
            spec.request?.body && spec.request.bodyOptional
              ? optionalBody(reqCtx, spec.request.body)
              : valid?.body,
          principal,
          requestId: requestIdOf(reqCtx),
          headers: reqCtx.req.headers,
          idempotencyKey: key,
          rawBody: spec.request?.upload ? rawBodyOf(reqCtx) : Buffer.alloc(0),
        };
        const run = () => implementation(input);
        const result =
          key !== null && guards.idempotent
            ? await guards.idempotent(
                {
                  tenantId: tenantId ?? 'admin',
                  operationId: spec.operationId,
                  key,
                  request: {
                    operationId: spec.operationId,
                    params: input.params,
                    query: input.query,
                    body: input.body ?? (spec.request?.upload ? bodyDigest(reqCtx) : null),
                  },
                },
                run,
              )
            : await run();
        return toResponse(answer ? await answer(result, input) : result);
      },
      {
        method: spec.method,
        path: routerPath(spec.path) as `/${string}`,
        middleware: checks,
        validation,
      },
    );
  }
  router.notFound(async (_error, reqCtx) =>
    errorResult(new NotFoundError('route', new URL(reqCtx.req.url).pathname), reqCtx),
  );
  router.methodNotAllowed(async (_error, reqCtx) =>
    errorResult(
      new NotFoundError('route', `${reqCtx.req.method} ${new URL(reqCtx.req.url).pathname}`),
      reqCtx,
    ),
  );
  router.errorHandler(Error, async (error, reqCtx) => errorResult(asDomainError(error), reqCtx));
  return router;
}

/**
 * Per route (a dimension): latency, and whether the answer was a client error or a fault of ours,
 * counted from the status the client gets (the router turns errors into answers after this runs).
 * `logMetrics` publishes them when the invocation ends.
 */
const routeMetrics: Middleware = async ({ reqCtx, next }) => {
  const start = performance.now();
  let status = 500;
  try {
    await next();
    status = reqCtx.res.status;
  } catch (error) {
    status = errorResponse(asDomainError(error as Error), '').status;
    throw error;
  } finally {
    metrics
      .addDimension('route', reqCtx.route ?? 'NOT_FOUND')
      .addMetric('Latency', MetricUnit.Milliseconds, performance.now() - start)
      .addMetric('ClientErrors', MetricUnit.Count, status >= 400 && status < 500 ? 1 : 0)
      .addMetric('Faults', MetricUnit.Count, status >= 500 ? 1 : 0);
  }
};

function authorize(spec: RouteSpec): Middleware {
  return async ({ reqCtx, next }) => {
    principalFrom(reqCtx, spec);
    await next();
  };
}

function principalFrom(reqCtx: RequestContext, spec: RouteSpec): Principal | null {
  if (spec.access.kind === 'public') return null;
  const principal = principalOf(authorizerContext(reqCtx));
  if (spec.access.kind === 'admin') requireAdmin(principal);
  else requireTenantScope(principal, spec.access.scope);
  return principal;
}

/** An id of the wrong form names nothing there is: 404, as for an id of another tenant. */
function pathIds(spec: RouteSpec): Middleware {
  return async ({ reqCtx, next }) => {
    const schema = spec.request?.params;
    if (schema) {
      const parsed = schema.safeParse(reqCtx.params);
      if (!parsed.success) {
        const name = String(parsed.error.issues[0]?.path[0] ?? 'resource');
        throw new NotFoundError(resourceNamedBy(name), echo(String(reqCtx.params[name] ?? '')));
      }
    }
    await next();
  };
}

function resourceNamedBy(param: string): string {
  return PATH_PARAM_RESOURCES[param] ?? 'resource';
}

function bodyLimits(spec: RouteSpec): Middleware {
  return async ({ reqCtx, next }) => {
    const upload = spec.request?.upload;
    if (upload) {
      if (bodyBytes(reqCtx) > upload.maxBytes) throw new MediaTooLargeError(upload.maxBytes);
      if (bodyBytes(reqCtx) === 0)
        throw new ValidationError('The request needs a file', [{ field: 'body', message: 'required' }]);
    }
    if (spec.request?.body) {
      const length = Number(reqCtx.req.headers.get('content-length') ?? 0);
      const body = (reqCtx.event as APIGatewayProxyEvent).body ?? '';
      if (length > MAX_JSON_BODY_BYTES || bodyBytes(reqCtx) > MAX_JSON_BODY_BYTES)
        throw new PayloadTooLargeError(MAX_JSON_BODY_BYTES);
      const type = reqCtx.req.headers.get('content-type') ?? '';
      if (body.length > 0 && !/^application\/json\s*(;|$)/i.test(type))
        throw new UnsupportedMediaTypeError('application/json');
      if (body.length === 0 && !spec.request.bodyOptional)
        throw new ValidationError('The request needs a JSON body', [{ field: 'body', message: 'required' }]);
    }
    await next();
  };
}

/** A JSON body that may be left out (`{}` then), checked against its schema as the router checks others. */
function optionalBody(reqCtx: RequestContext, schema: z.ZodType): unknown {
  const text = rawBodyOf(reqCtx).toString('utf8');
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ValidationError(
        'The request body is not valid JSON',
        [{ field: 'body', message: 'not valid JSON' }],
        'invalid_json',
      );
    }
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw validationErrorOf(parsed.error.issues.map((issue) => ({ ...issue, path: ['body', ...issue.path] })));
}

/** The body's size as sent (API Gateway hands binary bodies over base64-encoded). */
function bodyBytes(reqCtx: RequestContext): number {
  const event = reqCtx.event as APIGatewayProxyEvent;
  if (!event.body) return 0;
  return event.isBase64Encoded ? Buffer.byteLength(event.body, 'base64') : Buffer.byteLength(event.body);
}

function rawBodyOf(reqCtx: RequestContext): Buffer {
  const event = reqCtx.event as APIGatewayProxyEvent;
  return Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
}

/** What identifies an uploaded file for a replay's comparison: its bytes' digest and type. */
function bodyDigest(reqCtx: RequestContext): string {
  const digest = createHash('sha256').update(rawBodyOf(reqCtx)).digest('hex');
  return `${reqCtx.req.headers.get('content-type') ?? ''}:${digest}`;
}

function idempotencyKey(key: string): string {
  if (!IDEMPOTENCY_KEY.test(key)) {
    const message = 'Idempotency-Key must be 1 to 255 visible ASCII characters';
    throw new ValidationError(message, [{ field: 'Idempotency-Key', message }]);
  }
  return key;
}

function authorizerContext(reqCtx: RequestContext): Record<string, unknown> | undefined {
  return (reqCtx.event as APIGatewayProxyEvent).requestContext?.authorizer ?? undefined;
}

function requestIdOf(reqCtx: RequestContext): string {
  return (reqCtx.event as APIGatewayProxyEvent).requestContext?.requestId ?? 'unknown';
}

/**
 * Powertools' own errors as ours: its validation error (the schema's issues, or a body that is not
 * JSON), and its refusal of a blank path parameter (`/v1/channels/%20`), which it throws while
 * matching the route, before `pathIds` could answer the 404 any other malformed id gets.
 */
function asDomainError(error: Error): unknown {
  if (error instanceof ParameterValidationError) {
    const param = /'(\w+)'/.exec(error.issues[0] ?? '')?.[1] ?? 'resource';
    return new NotFoundError(resourceNamedBy(param), '(blank)');
  }
  if (error.name === 'RequestValidationError') {
    const issues = (error as Error & { details?: { issues?: z.core.$ZodIssue[] } }).details?.issues ?? [];
    if (issues.length === 0) {
      return new ValidationError(
        'The request body is not valid JSON',
        [{ field: 'body', message: 'not valid JSON' }],
        'invalid_json',
      );
    }
    return validationErrorOf(issues);
  }
  return error;
}

function errorResult(error: unknown, reqCtx: RequestContext) {
  const requestId = requestIdOf(reqCtx);
  const response = errorResponse(error, requestId);
  if (response.status >= 500) logger.error('request failed', { requestId, error: error as Error });
  return Response.json(response.body, {
    status: response.status,
    headers: { ...NO_STORE, ...response.headers },
  });
}

/** A piece of the request quoted in an error message, kept short. */
function echo(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** Every answer is one tenant's data (or a secret, such as a QR): no cache may keep it. */
const NO_STORE = { 'cache-control': 'no-store' };

function toResponse(result: RouteResult): Response {
  const headers = { ...NO_STORE, ...result.headers };
  if ('raw' in result) {
    return new Response(result.raw, {
      status: result.status,
      headers: { 'content-type': result.contentType, ...headers },
    });
  }
  if (result.body === undefined) return new Response(null, { status: result.status, headers });
  return Response.json(result.body, { status: result.status, headers });
}

/** The tenant a tenant route acts for (its principal was checked before the route ran). */
export function tenantOf(input: Pick<RouteInput, 'principal'>): string {
  if (input.principal?.kind !== 'tenant') throw new Error('tenant route without a tenant principal');
  return input.principal.tenantId;
}
