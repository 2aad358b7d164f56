/**
 * One registry of error codes, their HTTP status, one error class, and the
 * one place that turns an error into a JSON body.
 */
import { secure } from './security-headers.ts';

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  budget_exceeded: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  hibernated: 423,
  rate_limited: 429,
  internal: 500,
  not_supported: 501,
  runtime_unreachable: 502,
  booting: 503,
  not_configured: 503,
  boot_failed: 503,
  backup_failed: 502,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

import { CodedError } from './contract/error-codes.ts';

export { errorMessage } from './contract/error-codes.ts';

/** A failure with a stable code (match on `code`, never on the message). */
export class AppError extends CodedError<ErrorCode> {
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, 'AppError');
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** The JSON body every error answer carries. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string } & Record<string, unknown>;
}

/** A plain, serialisable form of an AppError (what crosses Durable Object RPC). */
export function errorBody(error: AppError): ErrorBody {
  return { error: { ...(error.details ?? {}), code: error.code, message: error.message } };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Rebuilds an AppError from its JSON body (the other side of `errorBody`). */
export function fromErrorBody(body: ErrorBody): AppError {
  const { code, message, ...details } = body.error;
  return new AppError(isErrorCode(code) ? code : 'internal', String(message), details);
}

/** JSON response for an error; unknown errors become a 500 without internals. */
export function errorResponse(error: unknown, headers: HeadersInit = {}): Response {
  const appError = error instanceof AppError ? error : new AppError('internal', 'internal error');
  const extra = secure(new Headers(headers));
  extra.set('content-type', 'application/json; charset=utf-8');
  extra.set('cache-control', 'no-store');
  if (appError.code === 'booting' && !extra.has('retry-after')) extra.set('retry-after', '2');
  const retryAfter = appError.details?.retryAfterSeconds;
  if (appError.code === 'rate_limited' && typeof retryAfter === 'number') extra.set('retry-after', String(retryAfter));
  return new Response(JSON.stringify(errorBody(appError)), { status: appError.status, headers: extra });
}

/**
 * `text` parsed as a JSON object (not an array, not null).
 * @throws AppError `code` with `notJson` when it is not JSON, `notObject` when it is JSON of another kind.
 */
export function parseJsonObject(text: string, code: ErrorCode, messages: { notJson: string; notObject: string }): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError(code, messages.notJson);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError(code, messages.notObject);
  return value as Record<string, unknown>;
}
