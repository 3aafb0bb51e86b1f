import { refusal } from 'test/support/refusal';
import { strictMock } from 'test/support/strict-mock';
import { loadConfig } from 'src/core/config/boards-config';
import type { Principal } from 'src/core/context/tenant-context';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import { ErrorCode } from 'src/core/errors/error-code';
import type { RegisterTenantDto } from './dto/register-tenant.dto';
import { RegistrationService } from './registration.service';
import type { TenantAdminService, TenantSeed } from './tenant-admin.service';
import { Tenant } from './tenant.entity';
import type { NewTenant, TenantsRepository } from './tenants.repository';

/**
 * Self-service registration rules at the service level: multi-tenant mode only, allowed e-mail
 * domains with a verified address, the per-identity limit under the identity's lock, approval,
 * and what is handed to the shared creation path (the registrant as admin, the audit action,
 * claim admission). Creation itself (slug rules, seeding, the audit row) is TenantAdminService's,
 * a strict fake here; its own spec covers it.
 */

const MULTI = { BOARDS_MULTI_TENANT_MODE: 'true' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const DTO: RegisterTenantDto = {
  organization_name: 'Acme Corp',
  organization_slug: 'acme',
  admin_email: 'ann@acme.example',
};

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    provider: 'jwt',
    subject: 'ann',
    email: 'ann@acme.example',
    emailVerified: true,
    name: 'Ann A.',
    claims: { sub: 'ann' },
    isPlatformAdmin: false,
    ...overrides,
  };
}

function setup(options: { env?: Record<string, string>; registered?: number } = {}) {
  const calls: string[] = [];
  const lockIdentity = jest.fn(async (identity: string) => {
    calls.push(`lockIdentity(${identity})`);
  });
  const countRegisteredBy = jest.fn(async (identity: string) => {
    calls.push(`countRegisteredBy(${identity})`);
    return options.registered ?? 0;
  });
  const run = jest.fn(async (tenantId: string, work: () => Promise<unknown>) => {
    calls.push(`run(${tenantId})`);
    return work();
  });
  const withGeneratedSlug = jest.fn(
    async (
      given: string | undefined,
      _name: string,
      _field: string,
      create: (slug: string) => Promise<Tenant>,
    ) => create(given ?? 'acme-corp'),
  );
  const createTenant = jest.fn(async (tenant: NewTenant, _seed: TenantSeed) => {
    calls.push('createTenant');
    return Object.assign(new Tenant(), {
      ...tenant,
      allowedIssuers: [...tenant.allowedIssuers],
      quotas: {},
      createdAt: new Date('2025-01-01T00:00:00.000Z'),
      updatedAt: new Date('2025-01-01T00:00:00.000Z'),
    });
  });
  const service = new RegistrationService(
    loadConfig(options.env ?? MULTI),
    strictMock<TenantsRepository>({ lockIdentity, countRegisteredBy }),
    strictMock<TenantTransactions>({ runRegistry: run }),
    strictMock<TenantAdminService>({ withGeneratedSlug, createTenant }),
  );
  return { service, calls, run, withGeneratedSlug, createTenant };
}

describe('RegistrationService.status', () => {
  it('describes registration as configured', () => {
    const { service } = setup({
      env: {
        ...MULTI,
        BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: 'true',
        BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: 'acme.example,Beta.Example',
        BOARDS_MAX_TENANTS_PER_USER: '5',
      },
    });
    expect(service.status()).toEqual({
      registration_open: true,
      requires_approval: true,
      allowed_domains: ['acme.example', 'beta.example'],
      max_tenants_per_user: 5,
    });
  });

  it('is closed in single-tenant mode', () => {
    expect(setup({ env: {} }).service.status().registration_open).toBe(false);
  });
});

describe('RegistrationService.register', () => {
  it('is refused in single-tenant mode (400, multi_tenant_mode: false) before anything is read', async () => {
    const { service, calls } = setup({ env: {} });
    expect(await refusal(service.register(principal(), DTO))).toMatchObject({
      code: ErrorCode.BadRequest,
      detail: 'Self-service registration is only available in multi-tenant mode.',
      extra: { multi_tenant_mode: false },
    });
    expect(calls).toEqual([]);
  });

  it('creates the tenant with the registrant as its admin, in the new tenant’s transaction', async () => {
    const { service, calls, run, withGeneratedSlug, createTenant } = setup();
    const answer = await service.register(principal(), {
      ...DTO,
      admin_name: 'Ann Admin',
      use_case: 'moodboards',
      organization_size: 'small',
      metadata: { source: 'ad' },
      include_sample_data: true,
    });
    expect(withGeneratedSlug).toHaveBeenCalledWith(
      'acme',
      'Acme Corp',
      'organization_slug',
      expect.any(Function),
    );
    const id = run.mock.calls[0][0];
    expect(id).toMatch(UUID);
    expect(calls).toEqual([
      `run(${id})`,
      'lockIdentity(jwt:ann)',
      'countRegisteredBy(jwt:ann)',
      'createTenant',
    ]);
    expect(createTenant).toHaveBeenCalledWith(
      {
        id,
        name: 'Acme Corp',
        slug: 'acme',
        status: 'active',
        settings: {
          registration: {
            admin_email: 'ann@acme.example',
            use_case: 'moodboards',
            organization_size: 'small',
            metadata: { source: 'ad' },
          },
        },
        allowedIssuers: [],
        claimsAdmit: false,
        registeredBy: 'jwt:ann',
      },
      {
        admin: {
          provider: 'jwt',
          subject: 'ann',
          email: 'ann@acme.example',
          displayName: 'Ann Admin',
        },
        includeSampleData: true,
        auditAction: 'tenant.register',
        selfService: true,
        auditDetails: { registered_by: 'jwt:ann' },
      },
    );
    expect(answer).toMatchObject({
      tenant: { id, slug: 'acme', status: 'active' },
      requires_approval: false,
      dashboard_url: null,
      api_access: {
        base_url: '/api',
        tenant_header: 'X-Tenant',
        tenant_slug: 'acme',
        docs_url: '/api/docs',
      },
      message: 'Your organization is ready; you are its administrator.',
    });
  });

  it('fills absent registration details and names the admin from the token', async () => {
    const { service, createTenant } = setup();
    await service.register(principal({ email: undefined, emailVerified: false }), DTO);
    const [tenant, seed] = createTenant.mock.calls[0];
    expect(tenant.settings).toEqual({
      registration: {
        admin_email: 'ann@acme.example',
        use_case: null,
        organization_size: null,
        metadata: {},
      },
    });
    expect(seed.admin).toEqual({
      provider: 'jwt',
      subject: 'ann',
      email: null,
      displayName: 'Ann A.',
    });
    expect(seed.includeSampleData).toBe(false);
  });

  it('with approval required the tenant waits as pending_approval', async () => {
    const { service, createTenant } = setup({
      env: { ...MULTI, BOARDS_TENANT_REGISTRATION_REQUIRES_APPROVAL: 'true' },
    });
    const answer = await service.register(principal(), DTO);
    expect(createTenant.mock.calls[0][0].status).toBe('pending_approval');
    expect(answer).toMatchObject({
      requires_approval: true,
      message:
        'Your organization is registered and waits for approval by a platform administrator.',
    });
  });

  it('a generated slug is used when none is given', async () => {
    const { service, withGeneratedSlug, createTenant } = setup();
    const answer = await service.register(principal(), { ...DTO, organization_slug: undefined });
    expect(withGeneratedSlug.mock.calls[0][0]).toBeUndefined();
    expect(createTenant.mock.calls[0][0].slug).toBe('acme-corp');
    expect(answer.api_access.tenant_slug).toBe('acme-corp');
  });

  it('links the dashboard under BOARDS_FRONTEND_BASE_URL', async () => {
    const { service } = setup({
      env: { ...MULTI, BOARDS_FRONTEND_BASE_URL: 'https://app.example.com/boards//' },
    });
    const answer = await service.register(principal(), DTO);
    expect(answer.dashboard_url).toBe('https://app.example.com/boards/acme');
  });

  describe('claim admission of the new tenant', () => {
    it.each<[string, Record<string, unknown>, Record<string, string>, boolean]>([
      ['lists the slug', { tenant: 'acme' }, {}, true],
      ['lists it among others', { tenant: ['beta', 'acme'] }, {}, true],
      ['lists other tenants only', { tenant: ['beta'] }, {}, false],
      ['is absent', {}, {}, false],
      ['is invalid', { tenant: 'Acme' }, {}, false],
      [
        'is another claim than the configured one',
        { tenant: 'acme' },
        { BOARDS_JWT_TENANT_CLAIM: 'org' },
        false,
      ],
      ['is the configured claim', { org: 'acme' }, { BOARDS_JWT_TENANT_CLAIM: 'org' }, true],
    ])('the registrant’s claim %s → claimsAdmit %s', async (_what, claims, env, admits) => {
      const { service, createTenant } = setup({ env: { ...MULTI, ...env } });
      await service.register(principal({ claims: { sub: 'ann', ...claims } }), DTO);
      expect(createTenant.mock.calls[0][0].claimsAdmit).toBe(admits);
    });
  });

  describe('allowed e-mail domains', () => {
    const env = { ...MULTI, BOARDS_TENANT_REGISTRATION_ALLOWED_DOMAINS: 'acme.example' };
    const NOT_VERIFIED = {
      code: ErrorCode.Forbidden,
      detail:
        'Registration with allowed e-mail domains needs a token whose email_verified is true.',
    };

    it('a verified address at an allowed domain, with an admin_email there too, registers', async () => {
      const { service, createTenant } = setup({ env });
      await service.register(principal({ email: 'Ann@ACME.example' }), {
        ...DTO,
        admin_email: 'Boss@Acme.Example',
      });
      expect(createTenant).toHaveBeenCalledTimes(1);
    });

    it.each<[string, Partial<Principal>]>([
      ['without an e-mail', { email: undefined }],
      ['with an unverified e-mail', { emailVerified: false }],
    ])('a token %s is refused (403) before anything is read', async (_what, overrides) => {
      const { service, calls } = setup({ env });
      expect(await refusal(service.register(principal(overrides), DTO))).toMatchObject(
        NOT_VERIFIED,
      );
      expect(calls).toEqual([]);
    });

    it('a token address at another domain is refused (403), naming the domain', async () => {
      const { service, calls } = setup({ env });
      expect(
        await refusal(service.register(principal({ email: 'ann@evil.example' }), DTO)),
      ).toMatchObject({
        code: ErrorCode.Forbidden,
        detail: 'Registration is not open to the e-mail domain "evil.example".',
      });
      expect(calls).toEqual([]);
    });

    it('an admin_email at another domain is refused (403) too', async () => {
      const { service, calls } = setup({ env });
      expect(
        await refusal(service.register(principal(), { ...DTO, admin_email: 'x@other.example' })),
      ).toMatchObject({
        code: ErrorCode.Forbidden,
        detail: 'Registration is not open to the e-mail domain "other.example".',
      });
      expect(calls).toEqual([]);
    });

    it('a subdomain of an allowed domain is another domain', async () => {
      const { service } = setup({ env });
      expect(
        await refusal(service.register(principal({ email: 'ann@eu.acme.example' }), DTO)),
      ).toMatchObject({
        code: ErrorCode.Forbidden,
        detail: expect.stringContaining('eu.acme.example'),
      });
    });

    it('without allowed domains an unverified token may register', async () => {
      const { service, createTenant } = setup();
      await service.register(principal({ emailVerified: false, email: 'x@anywhere.example' }), DTO);
      expect(createTenant).toHaveBeenCalledTimes(1);
    });
  });

  describe('tenants per identity', () => {
    it('one below the limit registers', async () => {
      const { service, createTenant } = setup({ registered: 2 });
      await service.register(principal(), DTO);
      expect(createTenant).toHaveBeenCalledTimes(1);
    });

    it('at the limit (counted under the identity’s lock) is a 403 and nothing is created', async () => {
      const { service, calls, createTenant } = setup({
        env: { ...MULTI, BOARDS_MAX_TENANTS_PER_USER: '2' },
        registered: 2,
      });
      expect(await refusal(service.register(principal(), DTO))).toMatchObject({
        code: ErrorCode.Forbidden,
        detail: 'You have reached the limit of 2 organization(s) per user.',
      });
      expect(calls.slice(1)).toEqual(['lockIdentity(jwt:ann)', 'countRegisteredBy(jwt:ann)']);
      expect(createTenant).not.toHaveBeenCalled();
    });

    it('counts per identity: provider and subject', async () => {
      const { service, calls } = setup();
      await service.register(principal({ provider: 'oidc:idp.example', subject: 'u-1' }), DTO);
      expect(calls).toContain('countRegisteredBy(oidc:idp.example:u-1)');
    });
  });
});
