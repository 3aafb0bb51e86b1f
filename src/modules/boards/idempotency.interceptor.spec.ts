import { AsyncLocalStorage } from 'node:async_hooks';
import { HttpCode, HttpStatus, type CallHandler, type ExecutionContext } from '@nestjs/common';
import type { HttpArgumentsHost } from '@nestjs/common/interfaces';
import { ClsService } from 'nestjs-cls';
import { lastValueFrom, of, throwError, type Observable } from 'rxjs';
import { refusal } from 'test/support/refusal';
import { strictMock } from 'test/support/strict-mock';
import { TenantContext } from 'src/core/context/tenant-context';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { DomainError, TenantContextMissingError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import type {
  IdempotencyRecord,
  IdempotencyRepository,
  IdempotencyScope,
} from './idempotency.repository';

/**
 * Idempotency-Key on POST: the first response is stored, the same key and request replay it,
 * another request under the key is 422 and a duplicate while the first still runs is 409. The
 * tenant context is the real one (a ClsService over its own AsyncLocalStorage); the stored keys
 * live in a strict in-memory fake of the repository.
 */

const TENANT = '00000000-0000-4000-8000-00000000000a';
const OTHER_TENANT = '00000000-0000-4000-8000-00000000000b';
const ANN = '10000000-0000-4000-8000-000000000001';
const BOB = '10000000-0000-4000-8000-000000000002';

/** Handlers as the controllers declare them: POST answers 201 unless @HttpCode says otherwise. */
class Handlers {
  create(): void {}

  @HttpCode(HttpStatus.OK)
  cancel(): void {}
}

const cls = new ClsService(new AsyncLocalStorage());
const context = new TenantContext(cls);

function memoryRecords(options: { busy?: boolean } = {}) {
  const rows = new Map<string, IdempotencyKey>();
  const id = (scope: IdempotencyScope) => `${scope.tenantId}/${scope.userId}/${scope.key}`;
  const tryLock = jest.fn(async (_scope: IdempotencyScope) => !options.busy);
  const find = jest.fn(async (scope: IdempotencyScope) => rows.get(id(scope)) ?? null);
  const save = jest.fn(async (scope: IdempotencyScope, record: IdempotencyRecord) => {
    rows.set(
      id(scope),
      Object.assign(new IdempotencyKey(), {
        tenantId: scope.tenantId,
        userId: scope.userId,
        idempotencyKey: scope.key,
        method: record.method,
        path: record.path,
        requestHash: record.requestHash,
        responseStatus: record.status,
        responseBody: record.body,
        responseHeaders: record.headers,
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 86_400_000),
      }),
    );
  });
  return {
    records: strictMock<IdempotencyRepository>({ tryLock, find, save }),
    tryLock,
    find,
    save,
  };
}

interface Call {
  key?: string | string[];
  body?: unknown;
  url?: string;
  handler?: () => void;
  /** The caller; null runs outside any tenant (the guard did not fill the context). */
  caller?: { tenantId: string; userId: string } | null;
  /** What the route handler does: sets headers and answers. */
  respond?: (reply: Reply) => Observable<unknown>;
}

class Reply {
  readonly sent = new Map<string, string>();
  readonly header = jest.fn((name: string, value: string) => {
    this.sent.set(name, value);
    return this;
  });
  readonly getHeader = jest.fn((name: string) => this.sent.get(name));
}

/** The default route handler: creates board b1, with the headers a create sets. */
function createdBoard(reply: Reply): Observable<unknown> {
  reply.header('location', '/api/boards/b1');
  reply.header('etag', '"b1.1"');
  reply.header('x-request-id', 'req-1');
  return of({ id: 'b1' });
}

/** One request through the interceptor; resolves to the body it answers with. */
function request(interceptor: IdempotencyInterceptor, call: Call) {
  const reply = new Reply();
  const headers = call.key === undefined ? {} : { 'idempotency-key': call.key };
  const http = strictMock<HttpArgumentsHost>({
    getRequest: () => ({
      method: 'POST',
      url: call.url ?? '/api/boards',
      headers,
      body: 'body' in call ? call.body : { title: 'Moodboard' },
    }),
    getResponse: () => reply,
  });
  const execution = strictMock<ExecutionContext>({
    switchToHttp: () => http,
    getHandler: () => call.handler ?? Handlers.prototype.create,
  });
  const handle = jest.fn(() => (call.respond ?? createdBoard)(reply));
  const next = strictMock<CallHandler>({ handle });
  const caller = call.caller === undefined ? { tenantId: TENANT, userId: ANN } : call.caller;
  const answer = cls.run(async () => {
    if (caller) {
      cls.set('tenantId', caller.tenantId);
      cls.set('userId', caller.userId);
    }
    return lastValueFrom(interceptor.intercept(execution, next), { defaultValue: undefined });
  });
  return { answer, reply, handle };
}

/** The transaction layer, told when statements follow the handler's (the record). */
const statementsFollow = jest.fn();
const transactions = strictMock<TenantTransactions>({ statementsFollow });
beforeEach(() => statementsFollow.mockClear());

describe('IdempotencyInterceptor', () => {
  it('without the header the handler answers as is and no key is read or written', async () => {
    const interceptor = new IdempotencyInterceptor(
      context,
      strictMock<IdempotencyRepository>(),
      transactions,
    );
    const { answer, handle, reply } = request(interceptor, {});
    await expect(answer).resolves.toEqual({ id: 'b1' });
    expect(handle).toHaveBeenCalledTimes(1);
    expect(reply.sent.has('idempotent-replayed')).toBe(false);
    // Nothing follows the handler: its last statement may carry the COMMIT.
    expect(statementsFollow).not.toHaveBeenCalled();
  });

  it('with a key it tells the transaction that statements follow the handler, before it runs', async () => {
    const { records } = memoryRecords();
    const { answer, handle } = request(new IdempotencyInterceptor(context, records, transactions), {
      key: 'k-follow',
    });
    await answer;
    expect(statementsFollow).toHaveBeenCalledTimes(1);
    expect(statementsFollow.mock.invocationCallOrder[0]).toBeLessThan(
      handle.mock.invocationCallOrder[0],
    );
  });

  it.each(['', 'with space', 'tab\tkey', 'ключ', 'x'.repeat(256)])(
    'a malformed key (%j) is a 400 and the handler does not run',
    async (key) => {
      const interceptor = new IdempotencyInterceptor(
        context,
        strictMock<IdempotencyRepository>(),
        transactions,
      );
      const { answer, handle } = request(interceptor, { key });
      expect(await refusal(answer)).toMatchObject({
        code: ErrorCode.BadRequest,
        detail: 'Idempotency-Key must be 1 to 255 visible ASCII characters.',
      });
      expect(handle).not.toHaveBeenCalled();
    },
  );

  it.each(['a', '!~', 'x'.repeat(255)])('a key of visible ASCII (%j) is accepted', async (key) => {
    const { records, save } = memoryRecords();
    await request(new IdempotencyInterceptor(context, records, transactions), { key }).answer;
    expect(save).toHaveBeenCalledWith(expect.objectContaining({ key }), expect.anything());
  });

  it('the first request runs the handler and stores its answer, status and replayable headers', async () => {
    const { records, tryLock, find, save } = memoryRecords();
    const { answer, handle } = request(new IdempotencyInterceptor(context, records, transactions), {
      key: 'k1',
      url: '/api/boards?x=1',
    });
    await expect(answer).resolves.toEqual({ id: 'b1' });
    const scope = { tenantId: TENANT, userId: ANN, key: 'k1' };
    expect(tryLock).toHaveBeenCalledWith(scope);
    expect(find).toHaveBeenCalledWith(scope);
    expect(handle).toHaveBeenCalledTimes(1);
    expect(save).toHaveBeenCalledWith(scope, {
      method: 'POST',
      path: '/api/boards',
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      status: 201,
      body: { id: 'b1' },
      headers: { location: '/api/boards/b1', etag: '"b1.1"' },
    });
  });

  it('stores the status the handler declares with @HttpCode', async () => {
    const { records, save } = memoryRecords();
    await request(new IdempotencyInterceptor(context, records, transactions), {
      key: 'k1',
      handler: Handlers.prototype.cancel,
    }).answer;
    expect(save).toHaveBeenCalledWith(
      expect.anything(),
      expect.objectContaining({ status: HttpStatus.OK }),
    );
  });

  it('the same key and request replay the stored answer and headers without running the handler', async () => {
    const { records, save } = memoryRecords();
    const interceptor = new IdempotencyInterceptor(context, records, transactions);
    await request(interceptor, { key: 'k1' }).answer;
    const retry = request(interceptor, {
      key: 'k1',
      respond: () => of({ id: 'a second board' }),
    });
    await expect(retry.answer).resolves.toEqual({ id: 'b1' });
    expect(retry.handle).not.toHaveBeenCalled();
    expect(Object.fromEntries(retry.reply.sent)).toEqual({
      location: '/api/boards/b1',
      etag: '"b1.1"',
      'idempotent-replayed': 'true',
    });
    expect(save).toHaveBeenCalledTimes(1);
  });

  it.each<[string, Call]>([
    ['another body', { body: { title: 'Other' } }],
    ['another path', { url: '/api/boards/b1/generations' }],
    ['another query', { url: '/api/boards?x=2' }],
  ])('the same key with %s is a 422 and the handler does not run', async (_what, changed) => {
    const { records, save } = memoryRecords();
    const interceptor = new IdempotencyInterceptor(context, records, transactions);
    await request(interceptor, { key: 'k1', url: '/api/boards?x=1' }).answer;
    const reuse = request(interceptor, { key: 'k1', url: '/api/boards?x=1', ...changed });
    expect(await refusal(reuse.answer)).toMatchObject({
      code: ErrorCode.Unprocessable,
      detail:
        'This Idempotency-Key was used with a different request; use a new key for a new request.',
    });
    expect(reuse.handle).not.toHaveBeenCalled();
    expect(reuse.reply.header).not.toHaveBeenCalled();
    expect(save).toHaveBeenCalledTimes(1);
  });

  it('a duplicate while the first still runs (the key is locked) is a 409', async () => {
    const { records, find, save } = memoryRecords({ busy: true });
    const { answer, handle } = request(new IdempotencyInterceptor(context, records, transactions), {
      key: 'k1',
    });
    expect(await refusal(answer)).toMatchObject({
      code: ErrorCode.Conflict,
      detail: 'A request with this Idempotency-Key is still being processed; retry shortly.',
    });
    expect(find).not.toHaveBeenCalled();
    expect(handle).not.toHaveBeenCalled();
    expect(save).not.toHaveBeenCalled();
  });

  it('keys belong to one user in one tenant: the same key elsewhere is a new request', async () => {
    const { records, save } = memoryRecords();
    const interceptor = new IdempotencyInterceptor(context, records, transactions);
    await request(interceptor, { key: 'k1' }).answer;
    for (const caller of [
      { tenantId: TENANT, userId: BOB },
      { tenantId: OTHER_TENANT, userId: ANN },
    ]) {
      const other = request(interceptor, { key: 'k1', caller, body: { title: 'Other' } });
      await expect(other.answer).resolves.toEqual({ id: 'b1' });
      expect(other.handle).toHaveBeenCalledTimes(1);
      expect(other.reply.sent.has('idempotent-replayed')).toBe(false);
    }
    expect(save.mock.calls.map(([scope]) => scope)).toEqual([
      { tenantId: TENANT, userId: ANN, key: 'k1' },
      { tenantId: TENANT, userId: BOB, key: 'k1' },
      { tenantId: OTHER_TENANT, userId: ANN, key: 'k1' },
    ]);
  });

  it('a handler that fails stores nothing, so a retry runs it again', async () => {
    const { records, save } = memoryRecords();
    const interceptor = new IdempotencyInterceptor(context, records, transactions);
    const failure = new DomainError(ErrorCode.Forbidden, 'board_permission_denied', 'no');
    await expect(
      request(interceptor, { key: 'k1', respond: () => throwError(() => failure) }).answer,
    ).rejects.toBe(failure);
    expect(save).not.toHaveBeenCalled();
    const retry = request(interceptor, { key: 'k1' });
    await expect(retry.answer).resolves.toEqual({ id: 'b1' });
    expect(retry.handle).toHaveBeenCalledTimes(1);
  });

  it('a handler without a body stores null', async () => {
    const { records, save } = memoryRecords();
    await expect(
      request(new IdempotencyInterceptor(context, records, transactions), {
        key: 'k1',
        respond: () => of(undefined),
      }).answer,
    ).resolves.toBeUndefined();
    expect(save).toHaveBeenCalledWith(
      expect.anything(),
      expect.objectContaining({ body: null, headers: {} }),
    );
  });

  it('a repeated header uses its first value as the key', async () => {
    const { records, tryLock } = memoryRecords();
    await request(new IdempotencyInterceptor(context, records, transactions), { key: ['k1', 'k2'] })
      .answer;
    expect(tryLock).toHaveBeenCalledWith({ tenantId: TENANT, userId: ANN, key: 'k1' });
  });

  it('outside a tenant context it fails closed before reading any key', async () => {
    const interceptor = new IdempotencyInterceptor(
      context,
      strictMock<IdempotencyRepository>(),
      transactions,
    );
    const { answer, handle } = request(interceptor, { key: 'k1', caller: null });
    expect(await refusal(answer)).toBeInstanceOf(TenantContextMissingError);
    expect(handle).not.toHaveBeenCalled();
  });
});
