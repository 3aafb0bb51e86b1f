import { strictMock } from 'test/support/strict-mock';
import { loadConfig } from 'src/core/config/boards-config';
import type { TenantCache } from 'src/core/cache/tenant-cache';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import type { AuditService } from 'src/modules/audit/audit.service';
import type { InvitationsRepository } from './invitations.repository';
import { TENANT_TRANSITIONS, TenantAdminService, type TenantAction } from './tenant-admin.service';
import type { TenantSeeder } from './tenant-seeder.service';
import type { TenantDatabases } from 'src/core/database/tenant-databases';
import { TENANT_STATUSES, type TenantStatus } from 'src/core/context/records';
import type { Tenant } from './tenant.entity';
import type { TenantsRepository } from './tenants.repository';

/**
 * Pure rules of tenant administration: which action applies to which status (the HTTP side is
 * test/e2e/setup-api.e2e-spec.ts) and how a free slug is chosen from a name. Collaborators are
 * strict fakes: only the methods a test expects exist.
 */

/** Every (status, action) pair and where it leads; null = refused (409). Written out, not derived. */
const EXPECTED: Record<TenantStatus, Record<TenantAction, TenantStatus | null>> = {
  pending_approval: { approve: 'active', reject: 'rejected', suspend: null, activate: null },
  active: { approve: null, reject: null, suspend: 'suspended', activate: null },
  suspended: { approve: null, reject: null, suspend: null, activate: 'active' },
  rejected: { approve: null, reject: null, suspend: null, activate: 'active' },
  // Only provisioning itself moves a tenant out of `provisioning`.
  provisioning: { approve: null, reject: null, suspend: null, activate: null },
  moving: { approve: null, reject: null, suspend: null, activate: null },
};

describe('TENANT_TRANSITIONS', () => {
  const pairs = TENANT_STATUSES.flatMap((status) =>
    (Object.keys(EXPECTED[status]) as TenantAction[]).map(
      (action) => [status, action, EXPECTED[status][action] ?? 'refused'] as const,
    ),
  );

  it('covers exactly the four actions', () => {
    expect(Object.keys(TENANT_TRANSITIONS).sort()).toEqual([
      'activate',
      'approve',
      'reject',
      'suspend',
    ]);
  });

  it.each(pairs)('%s + %s → %s', (status, action, target) => {
    const transition = TENANT_TRANSITIONS[action];
    expect(transition.from.includes(status)).toBe(target !== 'refused');
    if (target !== 'refused') expect(transition.to).toBe(target);
  });

  it('no action leaves a tenant where it was', () => {
    for (const transition of Object.values(TENANT_TRANSITIONS)) {
      expect(transition.from).not.toContain(transition.to);
    }
  });
});

/** The platform admin of these tests, as platform_audit_events names them. */
const BY = { actor: 'jwt:root', requestId: 'req-1' };

describe('TenantAdminService', () => {
  function service(options: {
    taken?: Iterable<string>;
    tenant?: Tenant | null;
    transitioned?: boolean;
    quarantined?: Record<string, Date>;
    env?: Record<string, string>;
  }) {
    const taken = new Set(options.taken ?? []);
    const takenSlugs = jest.fn(
      async (candidates: string[]) => new Set(candidates.filter((slug) => taken.has(slug))),
    );
    const transition = jest.fn(async () => options.transitioned ?? true);
    const forgetTenant = jest.fn(async () => undefined);
    const record = jest.fn(async () => undefined);
    const quarantinedUntil = jest.fn(async (slug: string) => options.quarantined?.[slug]);
    const tenants = strictMock<TenantsRepository>({
      takenSlugs,
      transition,
      quarantinedUntil,
      findById: jest.fn(async () => options.tenant ?? null),
    });
    const transactions = strictMock<TenantTransactions>({
      run: jest.fn(async (_id: string, work: () => Promise<unknown>) => work()),
    });
    const admin = new TenantAdminService(
      loadConfig(options.env ?? {}),
      tenants,
      transactions,
      strictMock<TenantSeeder>(),
      strictMock<AuditService>({ record }),
      strictMock<InvitationsRepository>(),
      strictMock<TenantCache>({ forgetTenant }),
      strictMock<TenantDatabases>({ enabled: false }),
    );
    return { admin, takenSlugs, transition, forgetTenant, record, quarantinedUntil };
  }

  const tenantIn = (status: TenantStatus): Tenant =>
    ({
      id: '11111111-1111-4111-8111-111111111111',
      name: 'Acme',
      slug: 'acme',
      status,
      settings: {},
      registeredBy: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    }) as Tenant;

  describe('availableSlug', () => {
    it('is the name as a slug when free, asking the repository once', async () => {
      const { admin, takenSlugs } = service({});
      await expect(admin.availableSlug('Acme Corporation')).resolves.toBe('acme-corporation');
      expect(takenSlugs).toHaveBeenCalledTimes(1);
    });

    it('appends -2, then -3, … when taken', async () => {
      await expect(service({ taken: ['acme'] }).admin.availableSlug('ACME')).resolves.toBe(
        'acme-2',
      );
      await expect(
        service({ taken: ['acme', 'acme-2', 'acme-3'] }).admin.availableSlug('Acme'),
      ).resolves.toBe('acme-4');
    });

    it('drops accents and punctuation', async () => {
      await expect(service({}).admin.availableSlug('  Café & Crème, Ltd.  ')).resolves.toBe(
        'cafe-creme-ltd',
      );
    });

    it('keeps suffixed slugs within 50 characters', async () => {
      const name = 'a'.repeat(44) + ' bcdefghijk';
      const base = `${'a'.repeat(44)}-bcdef`;
      const { admin } = service({ taken: [base] });
      const slug = await admin.availableSlug(name);
      expect(slug).toBe(`${'a'.repeat(44)}-2`);
      expect(slug.length).toBeLessThanOrEqual(50);
    });

    it('falls back to a random suffix when the first 21 candidates are taken', async () => {
      const taken = ['acme', ...Array.from({ length: 20 }, (_, i) => `acme-${i + 2}`)];
      const slug = await service({ taken }).admin.availableSlug('Acme');
      expect(slug).toMatch(/^acme-[0-9a-f]{4}$/);
      expect(taken).not.toContain(slug);
    });

    it('skips reserved words (and default in multi-tenant mode)', async () => {
      await expect(service({}).admin.availableSlug('Admin')).resolves.toBe('admin-2');
      await expect(service({}).admin.availableSlug('Default')).resolves.toBe('default');
      await expect(
        service({ env: { BOARDS_MULTI_TENANT_MODE: 'true' } }).admin.availableSlug('Default'),
      ).resolves.toBe('default-2');
      await expect(
        service({ env: { BOARDS_RESERVED_SLUGS: 'acme' } }).admin.availableSlug('Acme'),
      ).resolves.toBe('acme-2');
    });

    it('refuses a name with nothing usable in it (400)', async () => {
      const { admin, takenSlugs } = service({});
      const error: unknown = await admin.availableSlug('!!! ***').catch((err: unknown) => err);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe(ErrorCode.BadRequest);
      expect(takenSlugs).not.toHaveBeenCalled();
    });
  });

  describe('act', () => {
    it('moves the tenant, records the audit event and forgets the cached tenant', async () => {
      const { admin, transition, record, forgetTenant } = service({
        tenant: tenantIn('active'),
      });
      await admin.act(tenantIn('active').id, 'suspend', BY);
      expect(transition).toHaveBeenCalledWith(tenantIn('active').id, ['active'], 'suspended', BY);
      expect(record).toHaveBeenCalledWith(
        expect.objectContaining({
          action: 'tenant.suspend',
          details: { from: 'active', to: 'suspended' },
        }),
      );
      expect(forgetTenant).toHaveBeenCalledWith('acme');
    });

    it('is a 409 without an audit event when the status does not allow the action', async () => {
      const { admin, record, forgetTenant } = service({
        tenant: tenantIn('active'),
        transitioned: false,
      });
      const error: unknown = await admin
        .act(tenantIn('active').id, 'approve', BY)
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({
        code: ErrorCode.Conflict,
        detail: 'A tenant that is active cannot be approved.',
      });
      expect(record).not.toHaveBeenCalled();
      expect(forgetTenant).not.toHaveBeenCalled();
    });

    it('is a 404 for an unknown tenant', async () => {
      const { admin, transition } = service({ tenant: null });
      await expect(admin.act(tenantIn('active').id, 'suspend', BY)).rejects.toMatchObject({
        code: ErrorCode.NotFound,
      });
      expect(transition).not.toHaveBeenCalled();
    });
  });

  describe('createTenant refuses a slug before opening a transaction', () => {
    const newTenant = (slug: string) => ({
      id: '22222222-2222-4222-8222-222222222222',
      name: slug,
      slug,
      status: 'active' as const,
      settings: {},
      allowedIssuers: [],
      claimsAdmit: true,
      registeredBy: null,
    });
    const seed = { includeSampleData: false, auditAction: 'tenant.create' };

    it.each([
      'admin',
      'api',
      'www',
      'setup',
      'health',
      'metrics',
      'docs',
      'static',
      'auth',
      'login',
    ])('reserved: %s', async (slug) => {
      await expect(service({}).admin.createTenant(newTenant(slug), seed)).rejects.toMatchObject({
        code: ErrorCode.Conflict,
        detail: `The slug "${slug}" is reserved; choose another one.`,
      });
    });

    it('reserved by BOARDS_RESERVED_SLUGS, and default in multi-tenant mode only', async () => {
      const extended = service({ env: { BOARDS_RESERVED_SLUGS: 'acme,beta' } }).admin;
      await expect(extended.createTenant(newTenant('beta'), seed)).rejects.toMatchObject({
        detail: expect.stringContaining('reserved'),
      });
      const multi = service({ env: { BOARDS_MULTI_TENANT_MODE: 'true' } }).admin;
      await expect(multi.createTenant(newTenant('default'), seed)).rejects.toMatchObject({
        detail: expect.stringContaining('reserved'),
      });
    });

    it('quarantined after a deletion, with the date it ends', async () => {
      const until = new Date('2027-01-02T03:04:05.000Z');
      const { admin, takenSlugs } = service({ quarantined: { gone: until } });
      await expect(admin.createTenant(newTenant('gone'), seed)).rejects.toMatchObject({
        code: ErrorCode.Conflict,
        detail: expect.stringContaining('cannot be taken before 2027-01-02T03:04:05.000Z'),
      });
      expect(takenSlugs).not.toHaveBeenCalled();
    });
  });

  describe('remove', () => {
    it('refuses the default tenant in single-tenant mode before touching anything', async () => {
      const defaultTenant = { ...tenantIn('active'), slug: 'default' } as Tenant;
      const { admin } = service({ tenant: defaultTenant });
      await expect(admin.remove(defaultTenant.id, BY)).rejects.toMatchObject({
        code: ErrorCode.BadRequest,
      });
    });
  });
});
