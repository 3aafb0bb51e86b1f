import { createHash } from 'node:crypto';
import { HttpStatus, Injectable, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { HTTP_CODE_METADATA } from 'src/core/database/driver-internals';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, type Observable, lastValueFrom } from 'rxjs';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import type { AroundInterceptor } from 'src/core/http/around-interceptor';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { IdempotencyRepository, type IdempotencyScope } from './idempotency.repository';

/** How the Idempotency-Key header is documented on every POST. */
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'Retry-safe key: the same key and body replay the first response for 24 hours',
};

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAYED_HEADERS = ['location', 'etag'] as const;

/**
 * Idempotency-Key on POST: the first request's response is stored with its write (same
 * transaction); the same key and body replays it; another body is 422; a duplicate that arrives
 * while the first is still running is 409. Keys are scoped to tenant and user.
 */
@Injectable()
export class IdempotencyInterceptor implements AroundInterceptor {
  constructor(
    private readonly context: TenantContext,
    private readonly records: IdempotencyRepository,
    private readonly transactions: TenantTransactions,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const keyed = this.keyed(execution);
    if (!keyed) return next.handle();
    return from(
      this.handle(keyed, () => lastValueFrom(next.handle(), { defaultValue: undefined })),
    );
  }

  around(execution: ExecutionContext, proceed: () => Promise<unknown>): Promise<unknown> {
    const keyed = this.keyed(execution);
    return keyed ? this.handle(keyed, proceed) : proceed();
  }

  /** The request's Idempotency-Key with what is stored beside it; undefined without the header. */
  private keyed(execution: ExecutionContext): KeyedRequest | undefined {
    const request = execution.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers['idempotency-key'];
    if (header === undefined) return undefined;
    const key = Array.isArray(header) ? header[0] : header;
    if (!KEY_PATTERN.test(key)) {
      throw new DomainError(
        ErrorCode.BadRequest,
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 255 visible ASCII characters.',
      );
    }
    const reply = execution.switchToHttp().getResponse<FastifyReply>();
    const status =
      (Reflect.getMetadata(HTTP_CODE_METADATA, execution.getHandler()) as number | undefined) ??
      HttpStatus.CREATED;
    const scope: IdempotencyScope = {
      tenantId: this.context.tenantId,
      userId: this.context.userId,
      key,
    };
    const path = request.url.split('?')[0];
    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    return { scope, request: { method: request.method, path, requestHash, status }, reply };
  }

  private async handle(
    { scope, request, reply }: KeyedRequest,
    proceed: () => Promise<unknown>,
  ): Promise<unknown> {
    // The record is written after the handler, in its transaction: no handler statement may
    // carry the COMMIT.
    this.transactions.statementsFollow();
    if (!(await this.records.tryLock(scope))) {
      throw new DomainError(
        ErrorCode.Conflict,
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
      );
    }
    const stored = await this.records.find(scope);
    if (stored) {
      if (stored.requestHash !== request.requestHash) {
        throw new DomainError(
          ErrorCode.Unprocessable,
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request; use a new key for a new request.',
        );
      }
      for (const [name, value] of Object.entries(stored.responseHeaders))
        void reply.header(name, value);
      void reply.header('idempotent-replayed', 'true');
      return stored.responseBody;
    }
    const body = await proceed();
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (typeof value === 'string') headers[name] = value;
    }
    await this.records.save(scope, { ...request, body: body ?? null, headers });
    return body;
  }
}

/** A request with an Idempotency-Key: its scope, what its record holds, and its reply. */
interface KeyedRequest {
  scope: IdempotencyScope;
  request: { method: string; path: string; requestHash: string; status: number };
  reply: FastifyReply;
}
