import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from 'src/core/database/database-unavailable';
import { QUOTA_SQLSTATE, QuotaExceededError } from './quota-exceeded.error';
import { DomainError } from './domain-error';
import type { ApiErrorCode } from './error-catalog';
import { ErrorCode, errorMapping } from './error-code';

export interface ErrorBody {
  error: string;
  /** The stable snake_case code of the catalogue (error-catalog.ts). */
  code: ApiErrorCode;
  detail: string;
  status: number;
  request_id: string;
  [extra: string]: unknown;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A generic sentence for a status, used where the underlying message must not be shown. */
const GENERIC_DETAIL: Record<number, string> = {
  500: 'An unexpected error occurred. Quote the request id when reporting it.',
  503: 'The service is temporarily unavailable. Try again shortly.',
};

/** Seconds a client is asked to wait when the database cannot be reached (Retry-After). */
export const DATABASE_RETRY_AFTER_SECONDS = 2;
/** At most one log line a this often while the database stays unreachable. */
const UNAVAILABLE_LOG_INTERVAL_MS = 5_000;

/**
 * The one place errors become HTTP responses: `{error, code, detail, status, request_id}` plus
 * documented extras. 5xx bodies carry only a generic sentence and the request id (a 500 the code
 * internal_error); the cause goes to the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');
  private lastUnavailableLog = 0;

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { body, headers } = toErrorResponse(exception, String(request.id));
    if (body.status === 503 && isDatabaseUnavailable(exception)) {
      const now = Date.now();
      if (now - this.lastUnavailableLog > UNAVAILABLE_LOG_INTERVAL_MS) {
        this.lastUnavailableLog = now;
        this.logger.warn(
          { request_id: body.request_id, err: summary(exception) },
          'database unavailable → 503 (logged at most every 5 s)',
        );
      }
    } else if (databaseClientError(exception)) {
      const code = (exception as { driverError?: { code?: string } }).driverError?.code;
      this.logger.warn(
        { request_id: body.request_id, sqlstate: code },
        `database refused the request (${code}) → ${body.status}`,
      );
    } else if (body.status >= 500) {
      this.logger.error(
        // The path only: query strings may carry tokens or personal data.
        {
          err: exception,
          request_id: body.request_id,
          method: request.method,
          path: pathOf(request.url),
        },
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    void reply.status(body.status).headers(headers).send(body);
  }
}

/**
 * Database refusals that a client's input can cause (a constraint, a character PostgreSQL does
 * not store, a row deleted meanwhile) are the client's 4xx, in our words; every other database
 * error stays a generic 500.
 */
const DATABASE_CLIENT_ERRORS: Record<string, DomainError> = {
  '23505': new DomainError(
    ErrorCode.Conflict,
    'write_conflict',
    'The request conflicts with data stored meanwhile; fetch it again and retry.',
  ),
  '23503': new DomainError(
    ErrorCode.Conflict,
    'referenced_object_gone',
    'An object the request refers to no longer exists.',
  ),
  '23502': new DomainError(
    ErrorCode.ValidationFailed,
    'required_field_missing',
    'A required field is missing or null.',
  ),
  '23514': new DomainError(
    ErrorCode.ValidationFailed,
    'invalid_field_value',
    'A field has a value the service does not accept.',
  ),
  '22001': new DomainError(
    ErrorCode.ValidationFailed,
    'field_too_long',
    'A field is longer than the service accepts.',
  ),
  '22021': new DomainError(
    ErrorCode.ValidationFailed,
    'nul_character',
    'Text fields must not contain NUL characters.',
  ),
  '22P05': new DomainError(
    ErrorCode.ValidationFailed,
    'nul_character',
    'JSON fields must not contain NUL characters.',
  ),
  '22P02': new DomainError(
    ErrorCode.ValidationFailed,
    'invalid_field_format',
    'A field has an invalid format.',
  ),
  // A write in a READ ONLY transaction: the request's tenant is being moved between databases
  // (`boards tenant move`); reads go on, writes wait for the switch.
  '25006': new DomainError(
    ErrorCode.ServiceUnavailable,
    'tenant_moving',
    'The organization is being moved between databases and is read-only for a moment; retry shortly.',
    {},
    { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
  ),
  // The route class's statement timeout (or an administrator's cancel): the server is busy, not
  // the client wrong; retry later.
  '57014': new DomainError(
    ErrorCode.ServiceUnavailable,
    'statement_timeout',
    'statement timeout',
    {},
    {
      'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
    },
  ),
};

function databaseClientError(exception: unknown): DomainError | undefined {
  const driverError = (
    exception as { driverError?: { code?: unknown; message?: unknown; detail?: unknown } } | null
  )?.driverError;
  const code = driverError?.code;
  if (!driverError || typeof code !== 'string') return undefined;
  if (code === QUOTA_SQLSTATE) return QuotaExceededError.fromDriverError(driverError);
  return DATABASE_CLIENT_ERRORS[code];
}

/**
 * The documented body for a status, a code and a sentence, for errors raised outside Nest's
 * pipeline (Fastify's framework errors, Node's client errors, early refusals in hooks). A 5xx
 * shows a generic sentence, and a 500 the code internal_error, whatever the caller passed.
 */
export function errorBody(
  status: number,
  code: ApiErrorCode,
  detail: string,
  requestId: string,
): ErrorBody {
  return {
    error: STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Error'),
    code: status >= 500 && status !== 503 ? 'internal_error' : code,
    detail: status >= 500 ? (GENERIC_DETAIL[status] ?? GENERIC_DETAIL[500]) : detail,
    status,
    request_id: requestId,
  };
}

export function toErrorResponse(
  exception: unknown,
  requestId: string,
): { body: ErrorBody; headers: Record<string, string> } {
  if (isDatabaseUnavailable(exception)) {
    return {
      body: errorBody(503, 'database_unavailable', '', requestId),
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
    };
  }
  const clientError = databaseClientError(exception);
  if (clientError) return toErrorResponse(clientError, requestId);
  if (exception instanceof DomainError) {
    const { status, title } = errorMapping(exception.code);
    const body = errorBody(status, exception.apiCode, exception.detail, requestId);
    const extra = status >= 500 ? {} : exception.extra;
    return {
      body: { ...body, error: title, ...withoutReservedKeys(extra) },
      headers: { ...exception.headers },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const known = status < 500 ? knownClientError(status, exception) : undefined;
    return {
      body: errorBody(
        status,
        known?.code ?? httpExceptionCode(status, exception),
        known?.detail ?? httpExceptionDetail(exception),
        requestId,
      ),
      headers: {},
    };
  }
  // Errors raised by Fastify itself (body parsing, size limits) carry a 4xx statusCode.
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const { code, detail } = fastifyClientError(statusCode, exception);
    return { body: errorBody(statusCode, code, detail, requestId), headers: {} };
  }
  return { body: errorBody(500, 'internal_error', '', requestId), headers: {} };
}

/** Extras never replace the documented fields (a stray `code` or `status` in them is dropped). */
function withoutReservedKeys(extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extra)) {
    if (!RESERVED_KEYS.has(key)) kept[key] = value;
  }
  return kept;
}

const RESERVED_KEYS = new Set(['error', 'code', 'detail', 'status', 'request_id']);

/** The code of an HttpException raised by Nest or a library (validation, routing, guards). */
function httpExceptionCode(status: number, exception: HttpException): ApiErrorCode {
  if (status >= 500) return status === 503 ? 'service_unavailable' : 'internal_error';
  switch (status) {
    case 400:
      // class-validator's messages, as ValidationPipe raises them: an array of sentences.
      return Array.isArray((exception.getResponse() as { message?: unknown }).message)
        ? 'validation_failed'
        : 'bad_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'route_not_found';
    case 429:
      return 'rate_limited';
    default:
      return STATUS_CODES[status] ?? 'bad_request';
  }
}

/** The code of a client error known only by its status (Fastify and Node refusals). */
const STATUS_CODES: Record<number, ApiErrorCode> = {
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
};

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

interface KnownClientError {
  readonly code: ApiErrorCode;
  readonly detail: string;
}

/**
 * Nest hands Fastify's own errors (body too large, unparsable JSON) on as HttpExceptions carrying
 * Fastify's wording; they get this service's codes and sentences instead.
 */
function knownClientError(status: number, exception: HttpException): KnownClientError | undefined {
  if (status === 413 || status === 415) return fastifyClientError(status, exception);
  const message = exception.message;
  if (status !== 400) return undefined;
  if (/^Body is not valid JSON/.test(message) || exception.cause instanceof SyntaxError) {
    return { code: 'malformed_json', detail: 'The request body is not valid JSON.' };
  }
  if (/^Body cannot be empty when content-type is set to 'application\/json'/.test(message)) {
    return { code: 'empty_json_body', detail: 'The request body is empty but declared as JSON.' };
  }
  return undefined;
}

function fastifyClientError(status: number, exception: unknown): KnownClientError {
  if (status === 413) {
    return {
      code: 'payload_too_large',
      detail: 'The request body is larger than the server accepts.',
    };
  }
  if (status === 415) {
    return {
      code: 'unsupported_media_type',
      detail: 'The request content type is not supported; send application/json.',
    };
  }
  const code = (exception as { code?: unknown }).code;
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || exception instanceof SyntaxError) {
    return { code: 'malformed_json', detail: 'The request body is not valid JSON.' };
  }
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { code: 'empty_json_body', detail: 'The request body is empty but declared as JSON.' };
  }
  return {
    code: STATUS_CODES[status] ?? 'bad_request',
    detail: 'The request could not be processed.',
  };
}

/** What to log of an outage: the code and message, not a stack per request. */
function summary(exception: unknown): { code?: unknown; message?: unknown } {
  const error = exception as { code?: unknown; message?: unknown } | null;
  return { code: error?.code, message: error?.message };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
