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
        'The token names tenant "acme" but the X-Tenant header names "globex".',
        { multi_tenant_mode: true, provided_tenant: 'globex' },
        { 'WWW-Authenticate': 'Bearer' },
      );
      expect(toErrorResponse(error, REQUEST_ID)).toEqual({
        body: {
          error: 'Forbidden',
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
      [ErrorCode.ValidationFailed, 400, 'Validation Failed'],
      [ErrorCode.BadRequest, 400, 'Bad Request'],
      [ErrorCode.Unauthenticated, 401, 'Unauthorized'],
      [ErrorCode.NotFound, 404, 'Not Found'],
      [ErrorCode.Conflict, 409, 'Conflict'],
      [ErrorCode.PreconditionFailed, 412, 'Precondition Failed'],
      [ErrorCode.PayloadTooLarge, 413, 'Payload Too Large'],
      [ErrorCode.Unprocessable, 422, 'Unprocessable Entity'],
      [ErrorCode.RateLimited, 429, 'Too Many Requests'],
    ])('maps %s to %i %s with its detail', (code, status, title) => {
      const { body } = toErrorResponse(new DomainError(code, 'what went wrong'), REQUEST_ID);
      expect(body).toEqual({
        error: title,
        detail: 'what went wrong',
        status,
        request_id: REQUEST_ID,
      });
    });

    it('keeps a Retry-After header on 429', () => {
      const error = new DomainError(
        ErrorCode.RateLimited,
        'slow down',
        {},
        { 'Retry-After': '30' },
      );
      expect(toErrorResponse(error, REQUEST_ID).headers).toEqual({ 'Retry-After': '30' });
    });

    it.each([
      [
        'an internal error',
        new DomainError(ErrorCode.Internal, 'pool exhausted on db-3 (10.0.0.7)'),
      ],
      ['a missing tenant context', new TenantContextMissingError('tenantId')],
      ['an isolation violation', new TenantIsolationViolationError('cross_tenant_load', 'Board')],
    ])('shows only a generic sentence for %s (5xx)', (_, error) => {
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toEqual({
        error: 'Internal Server Error',
        detail: GENERIC_500,
        status: 500,
        request_id: REQUEST_ID,
      });
    });

    it('drops the extras of a 5xx domain error', () => {
      const error = new DomainError(ErrorCode.Internal, 'secret detail', {
        connection: 'postgresql://boards:hunter2@db/boards',
      });
      const text = serialized(error);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('secret detail');
      expect(toErrorResponse(error, REQUEST_ID).body).not.toHaveProperty('connection');
    });

    it('gives 503 for ServiceUnavailable without its detail', () => {
      const { body } = toErrorResponse(
        new DomainError(ErrorCode.ServiceUnavailable, 'redis at 10.0.0.9:6379 refused'),
        REQUEST_ID,
      );
      expect(body.status).toBe(503);
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
        detail: 'Cannot GET /api/nope',
        status: 404,
        request_id: REQUEST_ID,
      });
      expect(toErrorResponse(new ForbiddenException(), REQUEST_ID).body).toMatchObject({
        error: 'Forbidden',
        detail: 'Forbidden',
        status: 403,
      });
    });

    it('uses a string response as the detail and a neutral title for an unlisted status', () => {
      expect(toErrorResponse(new HttpException('I am a teapot', 418), REQUEST_ID).body).toEqual({
        error: 'Error',
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
        detail: 'The request body is not valid JSON.',
        status: 400,
        request_id: REQUEST_ID,
      });
      const syntax = Object.assign(new SyntaxError('Unexpected token } in JSON at position 12'), {
        statusCode: 400,
      });
      const body = toErrorResponse(syntax, REQUEST_ID).body;
      expect(body).toMatchObject({ status: 400, detail: 'The request body is not valid JSON.' });
      expect(JSON.stringify(body)).not.toContain('position 12');
    });

    it.each([
      [400, 'FST_ERR_CTP_EMPTY_JSON_BODY', 'The request body is empty but declared as JSON.'],
      [
        415,
        'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        'The request content type is not supported; send application/json.',
      ],
      [400, 'FST_ERR_SOMETHING_ELSE', 'The request could not be processed.'],
    ])('maps %i %s to a fixed sentence', (statusCode, code, detail) => {
      const error = fastifyError(statusCode, code, `internal text for ${code}`);
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toMatchObject({ status: statusCode, detail });
      expect(JSON.stringify(body)).not.toContain('internal text');
    });

    it('does not trust a 5xx statusCode on an unknown error', () => {
      const error = fastifyError(502, 'UPSTREAM', 'upstream 10.0.0.1 exploded');
      const { body } = toErrorResponse(error, REQUEST_ID);
      expect(body).toMatchObject({ status: 500, detail: GENERIC_500 });
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
      ['23502', 400, 'null value in column "title" violates not-null constraint'],
      ['23514', 400, 'new row violates check constraint "tenants_name_check"'],
      ['22021', 400, 'invalid byte sequence for encoding "UTF8": 0x00'],
      ['22P05', 400, 'unsupported Unicode escape sequence'],
      ['23503', 409, 'insert or update violates foreign key constraint "generations_board_fkey"'],
      ['23505', 409, 'duplicate key value violates unique constraint "tenants_slug_key"'],
    ])(
      'SQLSTATE %s becomes %i with our sentence, no SQL, parameters or driver text',
      (code, status, message) => {
        const body = serialized(refusal(code, message));
        expect(toErrorResponse(refusal(code, message), REQUEST_ID).body.status).toBe(status);
        for (const secret of ['UPDATE', 'secret-param', message, code])
          expect(body).not.toContain(secret);
      },
    );

    it('a statement timeout (57014) is 503 with Retry-After, no driver text', () => {
      const response = toErrorResponse(
        refusal('57014', 'canceling statement due to statement timeout'),
        REQUEST_ID,
      );
      expect(response.body).toMatchObject({ status: 503 });
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
    });

    it('any other SQLSTATE stays a generic 500', () => {
      expect(
        toErrorResponse(refusal('42P01', 'relation "x" does not exist'), REQUEST_ID).body,
      ).toMatchObject({
        status: 500,
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
      expect(JSON.stringify(sent.body)).not.toMatch(/ECONNREFUSED|10\.0\.0\.1/);
      expect(error).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });
});
