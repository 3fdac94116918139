// Domain errors carry a stable machine-readable code and the HTTP status the API maps them to, so
// one mapper at the edge turns any of them into `{ error: { code, message, requestId } }`.

export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  abstract readonly httpStatus: number;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed; `fields` names what failed. */
export class ValidationError extends DomainError {
  readonly httpStatus = 400;
  constructor(
    message: string,
    readonly fields: readonly FieldIssue[] = [],
    code = 'validation_failed',
  ) {
    super(code, message);
  }
}

/** 401: no key, or a key that does not authenticate. */
export class UnauthenticatedError extends DomainError {
  readonly httpStatus = 401;
  constructor(message = 'A valid API key is required') {
    super('unauthenticated', message);
  }
}

/** 403: the key is valid but lacks the scope. */
export class ForbiddenError extends DomainError {
  readonly httpStatus = 403;
  constructor(message: string, code = 'insufficient_scope') {
    super(code, message);
  }
}

/** 404: absent, or owned by another tenant (the two are indistinguishable on purpose). */
export class NotFoundError extends DomainError {
  readonly httpStatus = 404;
  constructor(resource: string, id: string) {
    super(`${resource}_not_found`, `${capitalize(resource)} ${id} was not found`);
  }
}

/**
 * 404: nothing can be added to a tenant that is absent or being erased. A tenant's own key meets it
 * only in the minute the authorizer's cache still takes it after an erasure: `UnauthenticatedError`.
 */
export class TenantNotActiveError extends NotFoundError {
  constructor(tenantId: string) {
    super('tenant', tenantId);
  }
}

/** 409: the request conflicts with the current state (stale version, forbidden transition…). */
export class ConflictError extends DomainError {
  readonly httpStatus = 409;
}

/**
 * 409 for an `Idempotency-Key` sent again with another request: the one answer, whether Powertools'
 * record or a send's own claim on the key (`SendClaim`) found the reuse.
 */
export function idempotencyKeyReused(): ConflictError {
  return new ConflictError(
    'idempotency_key_reused',
    'This Idempotency-Key was used with another request; use a new key for a new request',
  );
}

/** 422: valid JSON, impossible request. */
export class UnprocessableError extends DomainError {
  readonly httpStatus = 422;
}

/** 413: media over the size allowed for it (a tenant's cap on received files, say). */
export class MediaTooLargeError extends DomainError {
  readonly httpStatus = 413;
  constructor(readonly maxBytes: number) {
    super('media_too_large', `Media is larger than ${maxBytes} bytes`);
  }
}

/** 413: a request body over the limit of its route. */
export class PayloadTooLargeError extends DomainError {
  readonly httpStatus = 413;
  constructor(readonly maxBytes: number) {
    super('request_too_large', `The request body is larger than ${maxBytes} bytes`);
  }
}

/** 415: a body in a content type the route does not take. */
export class UnsupportedMediaTypeError extends DomainError {
  readonly httpStatus = 415;
  constructor(expected: string) {
    super('unsupported_media_type', `The request body must be ${expected}`);
  }
}

/** 429: the tenant's rate limit; `retryAfterSeconds` is when a token is back. */
export class RateLimitedError extends DomainError {
  readonly httpStatus = 429;
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many requests: retry after ${retryAfterSeconds} s`);
  }
}

/**
 * A store refused a write for what it would hold (an item over DynamoDB's size limit, object metadata
 * S3 does not take): the same write is refused every time, so retrying it only blocks what waits
 * behind it. Adapters raise it only for such refusals, never for outages, throttling or permissions.
 */
export class StoreRejectedError extends DomainError {
  readonly httpStatus = 422;
  constructor(store: string, cause: unknown) {
    super('store_rejected', `${store} refused the write: ${(cause as Error)?.name ?? 'error'}`);
    this.cause = cause;
  }
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1).replaceAll('_', ' ');
}
