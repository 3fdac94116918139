import { ZodError } from 'zod';
import { DomainError, type FieldIssue, RateLimitedError, ValidationError } from './errors.ts';

// The one mapping from what went wrong to what the API answers: `{ error: { code, message,
// requestId, fields? } }` with its status. Anything that is not a domain or validation error is a
// fault of ours: a 500 that says nothing about its cause (the log has it, under the request id).

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly requestId: string;
    /** For a 400: each failing field, named by its path (`text.body`, `query.limit`). */
    readonly fields?: readonly FieldIssue[];
  };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

export function errorResponse(error: unknown, requestId: string): ErrorResponse {
  const known = error instanceof ZodError ? validationErrorOf(error.issues) : error;
  if (!(known instanceof DomainError)) {
    return {
      status: 500,
      body: { error: { code: 'internal_error', message: 'An unexpected error occurred', requestId } },
      headers: {},
    };
  }
  const fields = known instanceof ValidationError && known.fields.length ? { fields: known.fields } : {};
  return {
    status: known.httpStatus,
    body: { error: { code: known.code, message: known.message, requestId, ...fields } },
    headers: known instanceof RateLimitedError ? { 'retry-after': String(known.retryAfterSeconds) } : {},
  };
}

/** Standard Schema issues (zod's among them) as one 400 naming every failing field. */
export function validationErrorOf(
  issues: readonly {
    readonly path?: readonly PropertyKey[] | readonly { key: PropertyKey }[];
    readonly message: string;
  }[],
): ValidationError {
  const fields = issues.map((issue) => ({
    field:
      (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.') ||
      '(root)',
    message: issue.message,
  }));
  const named = fields.map((issue) => issue.field).join(', ');
  return new ValidationError(`The request is not valid: ${named}`, fields);
}
