import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { responseUnderway } from 'src/core/database/driver-internals';
import type { ApiErrorCode } from 'src/core/errors/error-catalog';
import { errorBody } from 'src/core/errors/http-exception.filter';

interface KnownError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly detail: string;
}

/** Sentences for the errors Fastify raises while routing, before any hook or handler runs. */
const FRAMEWORK_DETAIL: Record<string, KnownError> = {
  FST_ERR_BAD_URL: {
    status: 400,
    code: 'malformed_url',
    detail: 'The request path is not a valid URL (malformed percent-encoding).',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'path_parameter_too_long',
    detail: 'A path parameter is longer than the server accepts.',
  },
  FST_ERR_ASYNC_CONSTRAINT: { status: 500, code: 'internal_error', detail: '' },
};

/**
 * Fastify's `frameworkErrors`: routing failures answer the documented error body with
 * X-Request-Id (the request id is already assigned), like every other response.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const known: KnownError = FRAMEWORK_DETAIL[error.code] ?? {
    status: error.statusCode && error.statusCode >= 400 ? error.statusCode : 400,
    code: 'bad_request',
    detail: 'The request could not be processed.',
  };
  const id = String(request.id);
  void reply
    .code(known.status)
    .header('x-request-id', id)
    .header('cache-control', 'no-store')
    .send(errorBody(known.status, known.code, known.detail, id));
}

/** Node's parser errors (before any request object exists) and the status each answers. */
const CLIENT_ERRORS: Record<string, KnownError> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'headers_too_large',
    detail: 'The request headers (with the request line) are larger than the server accepts.',
  },
  HPE_URI_TOO_LONG: {
    status: 414,
    code: 'uri_too_long',
    detail: 'The request URL is longer than the server accepts.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    detail: 'The request took too long to arrive.',
  },
};

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (headers too large, a
 * malformed request line) still gets the documented error body and an X-Request-Id, written
 * straight to the socket since no request object exists yet.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A response already under way on this socket (keep-alive) must not be interleaved with ours.
  if (error.code === 'ECONNRESET' || !socket.writable || responseUnderway(socket)) {
    socket.destroy();
    return;
  }
  const known: KnownError = (error.code && CLIENT_ERRORS[error.code]) || {
    status: 400,
    code: 'malformed_request',
    detail: 'The request is not valid HTTP.',
  };
  const id = randomUUID();
  const body = JSON.stringify(errorBody(known.status, known.code, known.detail, id));
  const title = errorBody(known.status, known.code, '', id).error;
  socket.end(
    `HTTP/1.1 ${known.status} ${title}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${id}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
