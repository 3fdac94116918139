// What every answer of the API must be, whatever was asked: never a fault (5xx); an error in the
// API's error body carrying the request's id; a success only in a shape and status the OpenAPI
// document declares; and nothing of another tenant.
import { z } from 'zod';
import { GATEWAY_RESPONSES } from '#functions/http/gateway-responses.ts';
import { openApiDocument } from '#functions/http/openapi.ts';
import { ROUTES, type RouteSpec } from '#functions/http/routes.ts';
import type { FuzzRequest } from './fuzz-requests.ts';
import type { RawResponse } from './raw-http.ts';

const errorBody = z.object({
  error: z.object({ code: z.string().min(1), message: z.string().min(1), requestId: z.string().min(1) }),
});

export interface MatchedRoute {
  readonly spec: RouteSpec;
  readonly params: Record<string, string>;
}

const compiled = ROUTES.map((spec) => ({
  spec,
  names: [...spec.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string),
  pattern: new RegExp(`^${spec.path.replace(/\{\w+\}/g, '([^/]+)')}/?$`),
}));

/** The route a request reaches, as API Gateway routes it (the local front does the same). */
export function routeOf(method: string, rawPath: string): MatchedRoute | null {
  let pathname: string;
  try {
    pathname = new URL(rawPath.startsWith('/') ? `http://localhost${rawPath}` : rawPath).pathname;
  } catch {
    return null;
  }
  for (const { spec, names, pattern } of compiled) {
    if (spec.method !== method) continue;
    const found = pattern.exec(pathname);
    if (!found) continue;
    try {
      return {
        spec,
        params: Object.fromEntries(
          names.map((name, index) => [name, decodeURIComponent(found[index + 1] ?? '')]),
        ),
      };
    } catch {
      return null;
    }
  }
  return null;
}

type OpenApiDocument = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/** Statuses the OpenAPI document the API serves declares for an operation. */
function declaredStatuses(spec: RouteSpec): Set<number> {
  const operation = (openApiDocument() as OpenApiDocument).paths[spec.path]?.[spec.method.toLowerCase()];
  return new Set(Object.keys(operation?.responses ?? {}).map(Number));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Everything the request said, decoded where it can be, to tell an echo from a leak. */
function requestText(request: FuzzRequest): string {
  const decoded = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const body = request.body === undefined ? '' : Buffer.from(request.body).toString('utf8');
  return [
    request.path,
    decoded(request.path),
    decoded(decoded(request.path)),
    JSON.stringify(request.headers),
    body,
  ].join('\n');
}

/**
 * The problems with one answer, none when it is as it must be. `foreignTokens`: ids and markers of
 * tenants other than the actor; an answer may repeat one the request itself named (a 404 names the
 * id it did not find), never show one it did not, and never succeed on a path naming one.
 */
export function problemsWith(
  request: FuzzRequest,
  answer: RawResponse,
  foreignTokens: readonly string[],
): string[] {
  const problems = faultOrShapeProblems(answer, request.method);

  const asked = requestText(request);
  const shown = `${answer.text}\n${JSON.stringify(answer.headers)}`;
  for (const token of foreignTokens) {
    if (shown.includes(token) && !asked.includes(token)) problems.push(`shows ${token}, of another tenant`);
  }
  const matched = routeOf(request.method, request.path);
  if (matched && answer.status < 300) {
    const named = Object.values(matched.params).filter((value) => foreignTokens.includes(value));
    if (named.length) problems.push(`${answer.status} on another tenant's ${named.join(', ')}`);
  }
  if (matched) problems.push(...conformanceProblems(matched.spec, answer));
  return problems;
}

/**
 * What the front refuses because it cannot parse the request (bad framing, a missing Host) is no
 * operation's answer, though the request line named one: the document does not list it per operation.
 */
function isUnparsableRefusal(answer: RawResponse): boolean {
  const { code, message } =
    (parseJson(answer.text) as { error?: { code?: string; message?: string } })?.error ?? {};
  const refusal = GATEWAY_RESPONSES.default4xx;
  return refusal.status === answer.status && refusal.code === code && refusal.message === message;
}

/** Never a fault; an error in the API's error body (none for a HEAD) with the request's id. */
export function faultOrShapeProblems(answer: RawResponse, method: string): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`a fault: ${answer.status} ${answer.text.slice(0, 300)}`);
  if (answer.status >= 400 && method !== 'HEAD') {
    const parsed = errorBody.safeParse(parseJson(answer.text));
    if (!parsed.success)
      problems.push(
        `an error body not in the API's shape: ${answer.status} ${JSON.stringify(answer.text.slice(0, 300))}`,
      );
    else if (parsed.data.error.requestId !== answer.headers['x-amzn-requestid'])
      problems.push(
        `requestId ${parsed.data.error.requestId} is not the request's (${answer.headers['x-amzn-requestid']})`,
      );
  }
  return problems;
}

/** A success in a status and shape the route declares; an error in a status its document lists. */
function conformanceProblems(spec: RouteSpec, answer: RawResponse): string[] {
  if (isUnparsableRefusal(answer)) return [];
  if (answer.status >= 400) {
    return declaredStatuses(spec).has(answer.status)
      ? []
      : [`${answer.status} is not among the statuses the OpenAPI document declares for ${spec.operationId}`];
  }
  const declared = spec.responses[answer.status];
  if (!declared) return [`${answer.status} is not a status ${spec.operationId} declares`];
  const type = answer.headers['content-type'] ?? '';
  if (declared instanceof z.ZodType) {
    if (!type.includes('application/json')) return [`${spec.operationId} answered ${type}, not JSON`];
    const parsed = declared.safeParse(parseJson(answer.text));
    return parsed.success
      ? []
      : [
          `${spec.operationId}'s ${answer.status} body does not match its schema: ${parsed.error.message.slice(0, 300)}`,
        ];
  }
  return declared.binary.some((binary) => type.startsWith(binary))
    ? []
    : [`${spec.operationId} answered ${type}`];
}
