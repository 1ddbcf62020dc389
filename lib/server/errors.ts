/**
 * Errors in OpenAI's shape, `{ error: { message, type, param, code } }`, with an HTTP status:
 * the library's typed errors (lib/errors.ts), fastify's own (validation, body size, media type),
 * and the server's (auth, unknown model, unsupported parameters, full queue, loading).
 */
import { SmolVLMError } from '../errors.js';

/** The body of every error response. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error the server answers with as is: status, OpenAI type and code, optional headers. */
export class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, options: { type?: string; code?: string | null; param?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }
}

function defaultType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'unavailable_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** A 400 for a parameter the server does not support (or not with that value). */
export function unsupported(param: string, message: string): HttpError {
  return new HttpError(400, message, { param, code: 'unsupported_parameter' });
}

/** A 400 for a parameter with a wrong value. */
export function invalidParam(param: string, message: string): HttpError {
  return new HttpError(400, message, { param, code: 'invalid_value' });
}

/** HTTP status of each library error code (anything missing is a 500). */
const LIBRARY_STATUS: Partial<Record<string, number>> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_IMAGE_INVALID: 400,
  ERR_NO_VISION: 400,
  ERR_CONTEXT_FULL: 400,
  ERR_TOOL_MISSING: 400,
  ERR_DISPOSED: 503,
  ERR_OUT_OF_MEMORY: 503,
  ERR_RPC_UNAVAILABLE: 503,
};

/** OpenAI's own code where one exists for the same condition. */
const LIBRARY_CODE: Partial<Record<string, string>> = {
  ERR_CONTEXT_FULL: 'context_length_exceeded',
};

/** fastify error codes and what they become. */
const FASTIFY: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
};

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * One message for ajv's errors: the deepest location wins (inside `anyOf` branches that is the
 * real problem, not "must match a schema in anyOf"), and type errors there are listed together.
 */
function describeValidation(issues: ValidationIssue[]): { message: string; param: string | null; code: string } {
  const depth = (i: ValidationIssue) => (i.instancePath ?? '').split('/').length + (i.keyword === 'required' ? 1 : 0);
  const real = issues.filter((i) => i.keyword !== 'anyOf' && i.keyword !== 'oneOf');
  const pool = real.length > 0 ? real : issues;
  const deepest = Math.max(...pool.map(depth));
  const at = pool.filter((i) => depth(i) === deepest);
  const issue = at[0] ?? {};
  const param = paramOf(issue);
  const name = param ?? 'the body';
  if (issue.keyword === 'required') return { message: `${name} is required`, param, code: 'missing_required_parameter' };
  const types = [...new Set(at.filter((i) => i.keyword === 'type').map((i) => String(i.params?.type)))];
  if (types.length > 1) return { message: `${name} must be ${types.slice(0, -1).join(', ')} or ${types.at(-1)}`, param, code: 'invalid_type' };
  return { message: `${name} ${issue.message ?? 'is invalid'}`, param, code: issue.keyword === 'type' ? 'invalid_type' : 'invalid_value' };
}

/** `body/messages/0/role` style path -> OpenAI's `messages[0].role` param name. */
function paramOf(issue: ValidationIssue): string | null {
  const parts = (issue.instancePath ?? '').split('/').filter(Boolean);
  if (issue.params && typeof issue.params.missingProperty === 'string') parts.push(issue.params.missingProperty);
  if (parts.length === 0) return null;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** The status, headers and OpenAI body for any error a request ended with. */
export function toOpenAIError(err: unknown): { status: number; headers: Record<string, string>; body: OpenAIErrorBody } {
  const wrap = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers: Record<string, string> = {}) => ({
    status,
    headers,
    body: { error: { message, type, param, code } },
  });
  if (err instanceof HttpError) return wrap(err.status, err.message, err.type, err.code, err.param, err.headers);
  if (err instanceof SmolVLMError) {
    const status = LIBRARY_STATUS[err.code] ?? 500;
    return wrap(status, err.message, defaultType(status), LIBRARY_CODE[err.code] ?? err.code);
  }
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: ValidationIssue[] };
  if (e?.validation && Array.isArray(e.validation)) {
    const { message, param, code } = describeValidation(e.validation);
    return wrap(400, message, 'invalid_request_error', code, param);
  }
  const known = e?.code ? FASTIFY[e.code] : undefined;
  if (known) return wrap(known.status, e.message ?? 'bad request', defaultType(known.status), known.code);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return wrap(e.statusCode, e.message ?? 'bad request', defaultType(e.statusCode), e.code ?? null);
  }
  return wrap(500, 'internal server error', 'server_error', null);
}
