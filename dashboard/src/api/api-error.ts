// The API's error body (`{ error: { code, message, requestId, fields? } }`) as the dashboard shows
// it, and the few failures that never reach the API (no network, an answer that is not the API's).

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly fields: readonly FieldError[] = [],
    /** Seconds to wait before trying again, from `Retry-After` on a 429. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an error answer: the API's body where it is one, a plain description of the status where not. */
export function apiErrorOf(status: number, body: unknown, retryAfter: string | null = null): ApiError {
  const retryAfterSeconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  const error = isRecord(body) && isRecord(body.error) ? body.error : null;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const fields = Array.isArray(error.fields)
      ? error.fields.filter(
          (field): field is FieldError =>
            isRecord(field) && typeof field.field === 'string' && typeof field.message === 'string',
        )
      : [];
    const requestId = typeof error.requestId === 'string' ? error.requestId : null;
    return new ApiError(status, error.code, error.message, requestId, fields, retryAfterSeconds);
  }
  return new ApiError(status, `http_${status}`, `HTTP ${status}`, null, [], retryAfterSeconds);
}

export function networkError(cause: unknown): ApiError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ApiError(0, 'network_error', message, null);
}
