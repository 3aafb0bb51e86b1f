import { AsyncLocalStorage } from 'node:async_hooks';
import { CLS_REQ, ClsService } from 'nestjs-cls';
import { requestLogFields } from 'src/core/logging/request-log-fields';
import type { TenantRecord, UserRecord } from './records';
import { TenantContext, contextStoreOf, writableStoreOf } from './tenant-context';

/**
 * TenantContext reads and writes the fields of nestjs-cls's store directly (contextStoreOf): what
 * it writes is what ClsService.get(key) answers, and what ClsService.set(key) wrote is what it
 * reads; outside a context nothing is read and every write fails.
 */

const TENANT: TenantRecord = {
  id: '00000000-0000-4000-8000-00000000000a',
  slug: 'acme',
  name: 'Acme',
  status: 'active',
  allowedIssuers: [],
  claimsAdmit: true,
};
const USER: UserRecord = {
  id: '10000000-0000-4000-8000-000000000001',
  tenantRole: 'admin',
  membershipSource: 'registration',
  email: null,
  displayName: null,
  avatarUrl: null,
};

describe('TenantContext over the nestjs-cls store', () => {
  const cls = new ClsService(new AsyncLocalStorage());
  const context = new TenantContext(cls);

  it('outside a context reads nothing, and every write fails', () => {
    expect(contextStoreOf(cls)).toBeUndefined();
    expect(context.isActive).toBe(false);
    expect(context.optionalTenantId).toBeUndefined();
    expect(context.principal).toBeUndefined();
    expect(context.clientIp).toBeUndefined();
    expect(() => writableStoreOf(cls)).toThrow('No CLS context available');
    expect(() => context.setResolved(TENANT, USER)).toThrow('No CLS context available');
    expect(() => context.resolved()).toThrow();
  });

  it('writes what ClsService.get answers, and reads what ClsService.set wrote, each context its own', async () => {
    await cls.run(async () => {
      const request = {};
      cls.set(CLS_REQ, request);
      context.setResolved(TENANT, USER);
      expect(cls.get('tenantId')).toBe(TENANT.id);
      expect(cls.get('tenantSlug')).toBe('acme');
      expect(cls.get('userId')).toBe(USER.id);
      expect(cls.get('tenantRole')).toBe('admin');
      expect(cls.get('resolvedTenant')).toBe(TENANT);
      expect(context.resolved()).toEqual({ tenant: TENANT, user: USER });
      // The request log line gets the tenant and user.
      expect(requestLogFields(request)).toMatchObject({ tenant_slug: 'acme', user_id: USER.id });
      cls.set('userId', 'set-through-cls');
      expect(context.optionalUserId).toBe('set-through-cls');
      // A nested context starts from a copy of this one (nestjs-cls's default); its writes stay in it.
      await cls.run(async () => {
        expect(context.optionalTenantId).toBe(TENANT.id);
        context.setUser({ id: 'inner', role: 'member' });
        expect(cls.get('userId')).toBe('inner');
      });
      await Promise.resolve();
      expect(context.optionalUserId).toBe('set-through-cls');
      expect(context.tenantRole).toBe('admin');
    });
  });
});
