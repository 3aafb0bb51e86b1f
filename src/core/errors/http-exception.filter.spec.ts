import {
  Logger,
  type ArgumentsHost,
  BadRequestException,
  ForbiddenException,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import {
  DomainError,
  TenantContextMissingError,
  TenantIsolationViolationError,
} from './domain-error';
import { ErrorCode } from './error-code';
import {
  DATABASE_RETRY_AFTER_SECONDS,
  HttpExceptionFilter,
  toErrorResponse,
} from './http-exception.filter';

const REQUEST_ID = 'req-0001';
const GENERIC_500 = 'An unexpected error occurred. Quote the request id when reporting it.';

/** The body as a client would read it, to check nothing sensitive slipped into any field. */
function serialized(exception: unknown): string {
  return JSON.stringify(toErrorResponse(exception, REQUEST_ID));
}

describe('toErrorResponse', () => {
  describe('domain errors', () => {
    it('keeps detail, documented extras and headers for a 4xx code', () => {
      const error = new DomainError(
        ErrorCode.Forbidden,
        'not_a_member',
        'The token names tenant "acme" but the X-Tenant header names "globex".',
        { multi_tenant_mode: true, provided_tenant: 'globex' },
        { 'WWW-Authenticate': 'Bearer' },
      );
      expect(toErrorResponse(error, REQUEST_ID)).toEqual({
        body: {
          error: 'Forbidden',
          code: 'not_a_member',
          detail: 'The token names tenant "acme" but the X-Tenant header names "globex".',
          status: 403,
          request_id: REQUEST_ID,
          multi_tenant_mode: true,
          provided_tenant: 'globex',
        },
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    });

    it.each([
      [
        new DomainError(ErrorCode.ValidationFailed, 'validation_failed', 'x'),
        400,
        'Validation Failed',
      ],
      [new DomainError(ErrorCode.BadRequest, 'invalid_cursor', 'x'), 400, 'Bad Request'],
      [new DomainError(ErrorCode.Unauthenticated, 'missing_token', 'x'), 401, 'Unauthorized'],
      [new DomainError(ErrorCode.NotFound, 'board_not_found', 'x'), 404, 'Not Found'],
      [new DomainError(ErrorCode.Conflict, 'tenant_slug_taken', 'x'), 409, 'Conflict'],
      [
        new DomainError(ErrorCode.PreconditionFailed, 'etag_mismatch', 'x'),
        412,
        'Precondition Failed',
      ],
      [
        new DomainError(ErrorCode.PayloadTooLarge, 'payload_too_large', 'x'),
        413,
        'Payload Too Large',
      ],
      [
        new DomainError(ErrorCode.Unprocessable, 'idempotency_key_reused', 'x'),
        422,
        'Unprocessable Entity',
      ],
      [new DomainError(ErrorCode.RateLimited, 'rate_limited', 'x'), 429, 'Too Many Requests'],
    ])('maps %o to %i %s with its code and detail', (error, status, title) => {
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toEqual({
        error: title,
        code: error.apiCode,
        detail: 'x',
        status,
        request_id: REQUEST_ID,
      });
      expect(Object.keys(body)).toEqual(['error', 'code', 'detail', 'status', 'request_id']);
    });

    it('keeps the key order error, code, detail, status, request_id, then the extras', () => {
      const error = new DomainError(ErrorCode.BadRequest, 'tenant_required', 'x', {
        multi_tenant_mode: true,
        code: 'spoofed',
        status: 999,
      });
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(Object.keys(body)).toEqual([
        'error',
        'code',
        'detail',
        'status',
        'request_id',
        'multi_tenant_mode',
      ]);
      expect(body).toMatchObject({ code: 'tenant_required', status: 400 });
    });

    it('keeps a Retry-After header on 429', () => {
      const error = new DomainError(
        ErrorCode.RateLimited,
        'rate_limited',
        'slow down',
        {},
        { 'Retry-After': '30' },
      );
      expect(toErrorResponse(error, REQUEST_ID).headers).toEqual({ 'Retry-After': '30' });
    });

    it.each([
      [
        'an internal error',
        new DomainError(ErrorCode.Internal, 'internal_error', 'pool exhausted on db-3 (10.0.0.7)'),
      ],
      ['a missing tenant context', new TenantContextMissingError('tenantId')],
      ['an isolation violation', new TenantIsolationViolationError('cross_tenant_load', 'Board')],
    ])('shows only a generic sentence for %s (5xx)', (_, error) => {
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toEqual({
        error: 'Internal Server Error',
        code: 'internal_error',
        detail: GENERIC_500,
        status: 500,
        request_id: REQUEST_ID,
      });
    });

    it('drops the extras of a 5xx domain error', () => {
      const error = new DomainError(ErrorCode.Internal, 'internal_error', 'secret detail', {
        connection: 'postgresql://boards:hunter2@db/boards',
      });
      const text = serialized(error);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('secret detail');
      expect(toErrorResponse(error, REQUEST_ID).body).not.toHaveProperty('connection');
    });

    it('gives 503 for ServiceUnavailable without its detail', () => {
      const { body } = toErrorResponse(
        new DomainError(
          ErrorCode.ServiceUnavailable,
          'service_unavailable',
          'redis at 10.0.0.9:6379 refused',
        ),
        REQUEST_ID,
      );
      expect(body.status).toBe(503);
      expect(body.code).toBe('service_unavailable');
      expect(body.error).toBe('Service Unavailable');
      expect(body.detail).not.toContain('10.0.0.9');
    });
  });

  describe('unknown errors', () => {
    it('gives a generic 500 without the cause text', () => {
      const error = new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
      expect(toErrorResponse(error, REQUEST_ID)).toEqual({
        body: {
          error: 'Internal Server Error',
          code: 'internal_error',
          detail: GENERIC_500,
          status: 500,
          request_id: REQUEST_ID,
        },
        headers: {},
      });
      const text = serialized(error);
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('hunter2');
      expect(text).not.toMatch(/\bat\s+\S+\s+\(/);
    });

    it.each([
      ['a string', 'kaboom'],
      ['null', null],
      ['undefined', undefined],
      ['a plain object', { message: 'internal', status: 400 }],
    ])('treats a thrown %s as a 500', (_, thrown) => {
      const { body } = toErrorResponse(thrown, REQUEST_ID);
      expect(body).toEqual({
        error: 'Internal Server Error',
        code: 'internal_error',
        detail: GENERIC_500,
        status: 500,
        request_id: REQUEST_ID,
      });
    });

    it('turns a database error into a 500 without SQL, parameters or driver text', () => {
      const driverError = Object.assign(new Error('relation "secret_table" does not exist'), {
        code: '42P01',
        severity: 'ERROR',
        detail: 'Key (tenant_id)=(t-1) is not present',
      });
      const error = new QueryFailedError(
        'SELECT * FROM secret_table WHERE email = $1',
        ['ceo@acme.com'],
        driverError,
      );
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toEqual({
        error: 'Internal Server Error',
        code: 'internal_error',
        detail: GENERIC_500,
        status: 500,
        request_id: REQUEST_ID,
      });
      const text = serialized(error);
      for (const leak of ['SELECT', 'secret_table', 'ceo@acme.com', '42P01', 'tenant_id']) {
        expect(text).not.toContain(leak);
      }
    });
  });

  describe('Nest HTTP exceptions', () => {
    it('joins a validation message array into one detail', () => {
      const error = new BadRequestException([
        'title must be shorter than or equal to 255 characters',
        'property tenant_id should not exist',
      ]);
      expect(toErrorResponse(error, REQUEST_ID).body).toEqual({
        error: 'Bad Request',
        code: 'validation_failed',
        detail:
          'title must be shorter than or equal to 255 characters; property tenant_id should not exist',
        status: 400,
        request_id: REQUEST_ID,
      });
    });

    it('keeps a string message as the detail', () => {
      expect(
        toErrorResponse(new NotFoundException('Cannot GET /api/nope'), REQUEST_ID).body,
      ).toEqual({
        error: 'Not Found',
        code: 'route_not_found',
        detail: 'Cannot GET /api/nope',
        status: 404,
        request_id: REQUEST_ID,
      });
      expect(toErrorResponse(new ForbiddenException(), REQUEST_ID).body).toMatchObject({
        error: 'Forbidden',
        code: 'forbidden',
        detail: 'Forbidden',
        status: 403,
      });
    });

    it('uses a string response as the detail and a neutral title for an unlisted status', () => {
      expect(toErrorResponse(new HttpException('I am a teapot', 418), REQUEST_ID).body).toEqual({
        error: 'Error',
        code: 'bad_request',
        detail: 'I am a teapot',
        status: 418,
        request_id: REQUEST_ID,
      });
    });

    it('hides the message of a 5xx HttpException', () => {
      expect(
        toErrorResponse(new InternalServerErrorException('pg pool: password=hunter2'), REQUEST_ID)
          .body,
      ).toEqual({
        error: 'Internal Server Error',
        code: 'internal_error',
        detail: GENERIC_500,
        status: 500,
        request_id: REQUEST_ID,
      });
      const unavailable = toErrorResponse(
        new ServiceUnavailableException('redis 10.0.0.9 down'),
        REQUEST_ID,
      ).body;
      expect(unavailable).toEqual({
        error: 'Service Unavailable',
        code: 'service_unavailable',
        detail: 'The service is temporarily unavailable. Try again shortly.',
        status: 503,
        request_id: REQUEST_ID,
      });
      expect(serialized(new HttpException('upstream 10.0.0.1 failed', 502))).not.toContain(
        '10.0.0.1',
      );
    });
  });

  describe('errors raised by Fastify', () => {
    function fastifyError(statusCode: number, code: string, message: string): Error {
      return Object.assign(new Error(message), { statusCode, code });
    }

    it('maps a body over the limit to 413 with a safe sentence', () => {
      const error = fastifyError(413, 'FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large');
      expect(toErrorResponse(error, REQUEST_ID)).toEqual({
        body: {
          error: 'Payload Too Large',
          code: 'payload_too_large',
          detail: 'The request body is larger than the server accepts.',
          status: 413,
          request_id: REQUEST_ID,
        },
        headers: {},
      });
    });

    it('maps invalid JSON to 400 without the parser message', () => {
      const error = fastifyError(
        400,
        'FST_ERR_CTP_INVALID_JSON_BODY',
        "Body is not valid JSON but content-type is set to 'application/json'",
      );
      expect(toErrorResponse(error, REQUEST_ID).body).toEqual({
        error: 'Bad Request',
        code: 'malformed_json',
        detail: 'The request body is not valid JSON.',
        status: 400,
        request_id: REQUEST_ID,
      });
      const syntax = Object.assign(new SyntaxError('Unexpected token } in JSON at position 12'), {
        statusCode: 400,
      });
      const body = toErrorResponse(syntax, REQUEST_ID).body;
      expect(body).toMatchObject({
        status: 400,
        code: 'malformed_json',
        detail: 'The request body is not valid JSON.',
      });
      expect(JSON.stringify(body)).not.toContain('position 12');
    });

    it.each([
      [
        400,
        'FST_ERR_CTP_EMPTY_JSON_BODY',
        'empty_json_body',
        'The request body is empty but declared as JSON.',
      ],
      [
        415,
        'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        'unsupported_media_type',
        'The request content type is not supported; send application/json.',
      ],
      [400, 'FST_ERR_SOMETHING_ELSE', 'bad_request', 'The request could not be processed.'],
    ])('maps %i %s to code %s and a fixed sentence', (statusCode, fastifyCode, code, detail) => {
      const error = fastifyError(statusCode, fastifyCode, `internal text for ${fastifyCode}`);
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toMatchObject({ status: statusCode, code, detail });
      expect(JSON.stringify(body)).not.toContain('internal text');
    });

    it('does not trust a 5xx statusCode on an unknown error', () => {
      const error = fastifyError(502, 'UPSTREAM', 'upstream 10.0.0.1 exploded');
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toMatchObject({ status: 500, code: 'internal_error', detail: GENERIC_500 });
    });
  });

  describe('database refusals caused by client input', () => {
    const refusal = (code: string, message: string) =>
      new QueryFailedError(
        'UPDATE "boards" SET "title" = $1 WHERE "id" = $2',
        ['secret-param'],
        Object.assign(new Error(message), { code }),
      );

    it.each([
      ['23502', 400, 'required_field_missing', 'null value in column "title" violates not-null'],
      [
        '23514',
        400,
        'invalid_field_value',
        'new row violates check constraint "tenants_name_check"',
      ],
      ['22021', 400, 'nul_character', 'invalid byte sequence for encoding "UTF8": 0x00'],
      ['22P05', 400, 'nul_character', 'unsupported Unicode escape sequence'],
      ['22P02', 400, 'invalid_field_format', 'invalid input syntax for type uuid: "x"'],
      ['22001', 400, 'field_too_long', 'value too long for type character varying(255)'],
      [
        '23503',
        409,
        'referenced_object_gone',
        'violates foreign key constraint "generations_fkey"',
      ],
      ['23505', 409, 'write_conflict', 'duplicate key value violates unique constraint "slug_key"'],
    ])(
      'SQLSTATE %s becomes %i %s with our sentence, no SQL, parameters or driver text',
      (code, status, apiCode, message) => {
        const body = serialized(refusal(code, message));
        expect(toErrorResponse(refusal(code, message), REQUEST_ID).body).toMatchObject({
          status,
          code: apiCode,
        });
        for (const secret of ['UPDATE', 'secret-param', message, code])
          expect(body).not.toContain(secret);
      },
    );

    it('a statement timeout (57014) is 503 with Retry-After, no driver text', () => {
      const response = toErrorResponse(
        refusal('57014', 'canceling statement due to statement timeout'),
        REQUEST_ID,
      );
      expect(response.body).toMatchObject({ status: 503, code: 'statement_timeout' });
      expect(response.headers).toEqual({ 'Retry-After': '2' });
      expect(JSON.stringify(response.body)).not.toContain('canceling');
    });

    it('a quota refusal of the usage triggers (BQ100) is 403 quota_exceeded naming the quota', () => {
      const trigger = new QueryFailedError(
        'INSERT INTO "boards" ...',
        ['secret-param'],
        Object.assign(new Error('boards'), { code: 'BQ100', detail: '25' }),
      );
      const { body } = toErrorResponse(trigger, REQUEST_ID);
      expect(body).toEqual({
        error: 'Forbidden',
        code: 'quota_exceeded',
        quota: 'boards',
        limit: 25,
        detail:
          'Quota exceeded: at most 25 boards in this organization. Delete some, or ask the platform administrator to raise the quota.',
        status: 403,
        request_id: REQUEST_ID,
      });
      expect(Object.keys(body).slice(0, 5)).toEqual([
        'error',
        'code',
        'detail',
        'status',
        'request_id',
      ]);
    });

    it('any other SQLSTATE stays a generic 500', () => {
      expect(
        toErrorResponse(refusal('42P01', 'relation "x" does not exist'), REQUEST_ID).body,
      ).toMatchObject({
        status: 500,
        code: 'internal_error',
        detail: GENERIC_500,
      });
    });
  });
});

describe('HttpExceptionFilter', () => {
  function host(url: string) {
    const sent: { status?: number; headers?: Record<string, string>; body?: unknown } = {};
    const reply = {
      status(code: number) {
        sent.status = code;
        return reply;
      },
      headers(headers: Record<string, string>) {
        sent.headers = headers;
        return reply;
      },
      send(body: unknown) {
        sent.body = body;
        return reply;
      },
    };
    const request = { id: REQUEST_ID, method: 'GET', url };
    return {
      sent,
      host: {
        switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
      } as unknown as ArgumentsHost,
    };
  }

  it('logs a 500 with the path only: the query string (tokens, personal data) stays out', () => {
    const filter = new HttpExceptionFilter();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const { sent, host: context } = host('/api/boards?access_token=s3cret&email=ann@x.test');
      filter.catch(new TypeError('boom'), context);
      expect(sent.status).toBe(500);
      const logged = JSON.stringify(error.mock.calls[0][0]);
      expect(logged).toContain('"path":"/api/boards"');
      expect(logged).not.toMatch(/s3cret|ann@x\.test|access_token/);
    } finally {
      error.mockRestore();
    }
  });

  it('answers 503 with Retry-After when the database is unreachable, and logs no stack', () => {
    const filter = new HttpExceptionFilter();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const { sent, host: context } = host('/api/boards');
      const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), {
        code: 'ECONNREFUSED',
      });
      filter.catch(refused, context);
      expect(sent.status).toBe(503);
      expect(sent.headers).toEqual({ 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) });
      expect(sent.body).toMatchObject({ code: 'database_unavailable', status: 503 });
      expect(JSON.stringify(sent.body)).not.toMatch(/ECONNREFUSED|10\.0\.0\.1/);
      expect(error).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });
});
