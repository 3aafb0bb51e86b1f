import { AsyncLocalStorage } from 'node:async_hooks';
import { CLS_ID, CLS_REQ, ClsService } from 'nestjs-cls';
import { strictMock } from 'test/support/strict-mock';
import { decodeCursor, encodeCursor } from 'src/common/pagination';
import { loadConfig } from 'src/core/config/boards-config';
import { TenantContext, type Principal } from 'src/core/context/tenant-context';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { annotateRequest } from 'src/core/logging/request-log-fields';
import { AuditEvent } from './audit-event.entity';
import type { AuditRepository, NewAuditEvent } from './audit.repository';
import { AuditService, type AuditEntry } from './audit.service';

/**
 * The shape of an audit event as the service writes it: what the entry says, completed from the
 * request's context (user, principal, request id, client address); nothing at all when
 * BOARDS_ENABLE_AUDIT_LOGGING is off. The context is the real TenantContext over its own store.
 */

const TENANT = '00000000-0000-4000-8000-00000000000a';
const ANN = '10000000-0000-4000-8000-000000000001';
const BOB = '10000000-0000-4000-8000-000000000002';
const BOARD = 'b0000000-0000-4000-8000-000000000001';

const cls = new ClsService(new AsyncLocalStorage());
const context = new TenantContext(cls);

const ENTRY: AuditEntry = {
  tenantId: TENANT,
  action: 'board.update',
  targetType: 'board',
  targetId: BOARD,
  details: { fields: ['title'] },
};

const principal = (subject = 'ann'): Principal => ({
  provider: 'jwt',
  subject,
  emailVerified: false,
  claims: { sub: subject },
  isPlatformAdmin: false,
});

function service(options: { listed?: AuditEvent[] } = {}) {
  const insert = jest.fn(async (_event: NewAuditEvent) => undefined);
  const list = jest.fn(async () => options.listed ?? []);
  const audit = new AuditService(
    loadConfig({ BOARDS_ENABLE_AUDIT_LOGGING: 'true' }),
    context,
    strictMock<AuditRepository>({ insert, list }),
  );
  return { audit, insert, list };
}

/** Runs `work` as a request of Ann (jwt:ann) from 203.0.113.7 with request id req-1. */
function inRequest<T>(
  work: () => Promise<T>,
  who: { userId?: string; principal?: Principal } = { userId: ANN, principal: principal() },
): Promise<T> {
  return cls.run(async () => {
    const request = {};
    annotateRequest(request, { ip: '203.0.113.7' });
    cls.set(CLS_REQ, request);
    cls.set(CLS_ID, 'req-1');
    if (who.userId) cls.set('userId', who.userId);
    if (who.principal) context.setPrincipal(who.principal);
    return work();
  });
}

describe('AuditService.record', () => {
  it('writes nothing when audit logging is off (the default)', async () => {
    const off = new AuditService(loadConfig({}), context, strictMock<AuditRepository>());
    expect(off.enabled).toBe(false);
    // The strict repository has no insert: a write would reject with "unexpected call".
    await expect(inRequest(() => off.record(ENTRY))).resolves.toBeUndefined();
  });

  it('writes the entry completed from the request: actor, subject, request id, address', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record(ENTRY));
    expect(insert).toHaveBeenCalledTimes(1);
    expect(insert).toHaveBeenCalledWith({
      tenantId: TENANT,
      actorId: ANN,
      actorSubject: 'jwt:ann',
      action: 'board.update',
      targetType: 'board',
      targetId: BOARD,
      outcome: 'success',
      requestId: 'req-1',
      ip: '203.0.113.7',
      details: { fields: ['title'] },
    });
  });

  it('fills absent target, outcome and details with null, success and {}', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record({ tenantId: TENANT, action: 'x.y', targetType: 'tenant' }));
    expect(insert).toHaveBeenCalledWith(
      expect.objectContaining({ targetId: null, outcome: 'success', details: {} }),
    );
  });

  it('keeps the outcome the entry gives', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record({ ...ENTRY, outcome: 'denied' }));
    expect(insert).toHaveBeenCalledWith(expect.objectContaining({ outcome: 'denied' }));
  });

  it('an explicit actor wins over the request’s user, and an explicit null stays null', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record({ ...ENTRY, actorId: BOB }));
    await inRequest(() => audit.record({ ...ENTRY, actorId: null }));
    expect(insert.mock.calls.map(([event]) => event.actorId)).toEqual([BOB, null]);
  });

  it('without a user or principal in the request, actor and subject are null', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record(ENTRY), {});
    expect(insert).toHaveBeenCalledWith(
      expect.objectContaining({ actorId: null, actorSubject: null, requestId: 'req-1' }),
    );
  });

  it('outside any request (CLI, background work) it records with no request fields', async () => {
    const { audit, insert } = service();
    await audit.record(ENTRY);
    expect(insert).toHaveBeenCalledWith(
      expect.objectContaining({ actorId: null, actorSubject: null, requestId: null, ip: null }),
    );
  });

  it('cuts the subject to the column’s 255 characters', async () => {
    const { audit, insert } = service();
    await inRequest(() => audit.record(ENTRY), { principal: principal('s'.repeat(300)) });
    const subject = insert.mock.calls[0][0].actorSubject;
    expect(subject).toBe(`jwt:${'s'.repeat(251)}`);
  });
});

describe('AuditService.list', () => {
  const event = (n: number): AuditEvent =>
    Object.assign(new AuditEvent(), {
      tenantId: TENANT,
      id: `e0000000-0000-4000-8000-00000000000${n}`,
      actorId: ANN,
      actorSubject: 'jwt:ann',
      action: 'board.create',
      targetType: 'board',
      targetId: BOARD,
      outcome: 'success',
      requestId: `req-${n}`,
      ip: null,
      details: {},
      createdAt: new Date(Date.UTC(2025, 0, 10 - n)),
    });

  it('reads the given tenant’s events, 50 by default, with the action filter', async () => {
    const { audit, list } = service();
    await audit.list(TENANT, { action: 'board.create' });
    expect(list).toHaveBeenCalledWith({
      tenantId: TENANT,
      action: 'board.create',
      limit: 50,
      after: undefined,
    });
  });

  it('answers a page in the API’s shape with a cursor to the next one', async () => {
    const { audit, list } = service({ listed: [event(1), event(2), event(3)] });
    const page = await audit.list(TENANT, { limit: 2 });
    expect(page.items.map((item) => item.id)).toEqual([event(1).id, event(2).id]);
    expect(page.items[0]).toEqual({
      id: event(1).id,
      actor_id: ANN,
      actor_subject: 'jwt:ann',
      action: 'board.create',
      target_type: 'board',
      target_id: BOARD,
      outcome: 'success',
      request_id: 'req-1',
      ip: null,
      details: {},
      created_at: event(1).createdAt.toISOString(),
    });
    const after = decodeCursor(page.next_cursor ?? '');
    expect(after).toEqual({ value: event(2).createdAt.toISOString(), id: event(2).id });
    await audit.list(TENANT, { limit: 2, cursor: page.next_cursor ?? undefined });
    expect(list).toHaveBeenLastCalledWith(expect.objectContaining({ after }));
  });

  it('a malformed cursor is a 400 before any read', async () => {
    const { audit, list } = service();
    const error: unknown = await audit
      .list(TENANT, { cursor: 'nope' })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: ErrorCode.BadRequest });
    expect(list).not.toHaveBeenCalled();
    await expect(
      audit.list(TENANT, { cursor: encodeCursor({ value: 'yesterday', id: BOARD }) }),
    ).rejects.toMatchObject({ code: ErrorCode.BadRequest });
  });
});
