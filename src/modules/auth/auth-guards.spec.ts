import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { NoTenant } from 'src/common/decorators/no-tenant.decorator';
import { PlatformAdmin } from 'src/common/decorators/platform-admin.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { loadConfig } from 'src/core/config/boards-config';
import { ConfigModule } from 'src/core/config/config.module';
import { ContextModule } from 'src/core/context/context.module';
import { TenantContext } from 'src/core/context/tenant-context';
import { HttpExceptionFilter } from 'src/core/errors/http-exception.filter';
import { hs256Token, jwtAuthEnv, PLATFORM_ADMIN_SUBJECT } from 'test/factories/tokens';
import type { TenantRecord, UserRecord } from 'src/core/context/records';
import { AuthProviderChain } from './auth-provider.chain';
import { AuthStrategyRegistry } from './auth-strategies';
import { authStrategiesProvider } from './auth-strategies.provider';
import { AuthenticationGuard } from './authentication.guard';
import { TenantDirectory } from './tenant-directory';
import { TenantGuard } from './tenant.guard';
import { TenantResolver } from './tenant-resolver';
import { UserProvisioningService } from './user-provisioning.service';

/**
 * The two global guards with the route decorators, on a Fastify app without a database (the
 * tenant directory and the provisioning service are strict mocks): who reaches which route, and
 * what the context holds there.
 */

@Controller('probe')
class ProbeController {
  constructor(private readonly context: TenantContext) {}

  private snapshot() {
    return {
      subject: this.context.principal?.subject ?? null,
      tenant: this.context.optionalTenantSlug ?? null,
      user: this.context.optionalUserId ?? null,
      role: this.context.tenantRole ?? null,
    };
  }

  @Public()
  @Get('public')
  open() {
    return this.snapshot();
  }

  @NoTenant()
  @Get('no-tenant')
  noTenant() {
    return this.snapshot();
  }

  @NoTenant()
  @PlatformAdmin()
  @Get('platform')
  platform() {
    return this.snapshot();
  }

  @Get('tenant')
  tenant() {
    return this.snapshot();
  }
}

const ACME: TenantRecord = {
  id: '00000000-0000-4000-8000-000000000001',
  slug: 'acme',
  name: 'Acme',
  status: 'active',
  allowedIssuers: [],
  claimsAdmit: true,
};
/** What /probe/tenant answers the member `ann` of `acme`. */
const ANN_IN_ACME = {
  status: 200,
  body: {
    subject: 'ann',
    tenant: 'acme',
    user: '00000000-0000-4000-8000-0000000000aa',
    role: 'member',
  },
};
const USER: UserRecord = {
  id: '00000000-0000-4000-8000-0000000000aa',
  tenantRole: 'member',
  membershipSource: 'claim',
  email: null,
  displayName: null,
  avatarUrl: null,
};

describe('AuthenticationGuard + TenantGuard with @Public, @NoTenant, @PlatformAdmin', () => {
  let app: NestFastifyApplication;
  const directory = {
    findBySlug: jest.fn(async (slug: string) => (slug === 'acme' ? ACME : undefined)),
    cached: jest.fn((_slug: string): TenantRecord | undefined => undefined),
  };
  const provisioning = {
    admit: jest.fn(async () => USER),
    cachedMember: jest.fn((): UserRecord | undefined => undefined),
  };
  const member = hs256Token({ sub: 'ann', tenant: 'acme' });
  const admin = hs256Token({ sub: PLATFORM_ADMIN_SUBJECT });

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loadConfig(jwtAuthEnv())), ContextModule],
      controllers: [ProbeController],
      providers: [
        AuthProviderChain,
        AuthStrategyRegistry,
        authStrategiesProvider,
        TenantResolver,
        { provide: TenantDirectory, useValue: directory },
        { provide: UserProvisioningService, useValue: provisioning },
        { provide: APP_GUARD, useClass: AuthenticationGuard },
        { provide: APP_GUARD, useClass: TenantGuard },
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    app.useGlobalFilters(new HttpExceptionFilter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await (app as INestApplication | undefined)?.close();
  });

  beforeEach(() => {
    directory.findBySlug.mockClear();
    directory.cached.mockReset().mockReturnValue(undefined);
    provisioning.admit.mockClear();
    provisioning.cachedMember.mockReset().mockReturnValue(undefined);
  });

  async function get(path: string, token?: string) {
    const response = await app
      .getHttpAdapter()
      .getInstance()
      .inject({
        method: 'GET',
        url: path,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  }

  it('@Public: no authentication, nothing in the context, even with a broken token', async () => {
    for (const token of [undefined, 'broken']) {
      expect(await get('/probe/public', token)).toEqual({
        status: 200,
        body: { subject: null, tenant: null, user: null, role: null },
      });
    }
  });

  it('@NoTenant: authenticated, but no tenant resolved and no user provisioned', async () => {
    expect((await get('/probe/no-tenant')).status).toBe(401);
    expect(await get('/probe/no-tenant', member)).toEqual({
      status: 200,
      body: { subject: 'ann', tenant: null, user: null, role: null },
    });
    expect(directory.findBySlug).not.toHaveBeenCalled();
    expect(provisioning.admit).not.toHaveBeenCalled();
  });

  it('@PlatformAdmin: 403 for other callers, 401 without a token', async () => {
    expect((await get('/probe/platform')).status).toBe(401);
    const denied = await get('/probe/platform', member);
    expect(denied).toMatchObject({ status: 403, body: { error: 'Forbidden', status: 403 } });
    expect(await get('/probe/platform', admin)).toMatchObject({
      status: 200,
      body: { subject: PLATFORM_ADMIN_SUBJECT, tenant: null },
    });
  });

  it('undecorated routes get principal, tenant and user; authentication runs first', async () => {
    expect((await get('/probe/tenant')).status).toBe(401);
    expect(directory.findBySlug).not.toHaveBeenCalled();
    expect(await get('/probe/tenant', member)).toEqual(ANN_IN_ACME);
    expect(provisioning.admit).toHaveBeenCalledWith(
      ACME,
      expect.objectContaining({ subject: 'ann' }),
      { claimed: true, everyone: false },
      { mayWrite: true },
    );
  });

  it('a tenant and a member cached in this process are admitted without a lookup', async () => {
    directory.cached.mockReturnValue(ACME);
    provisioning.cachedMember.mockReturnValue(USER);
    expect(await get('/probe/tenant', member)).toEqual(ANN_IN_ACME);
    expect(provisioning.cachedMember).toHaveBeenCalledWith(
      ACME,
      expect.objectContaining({ subject: 'ann' }),
      { claimed: true, everyone: false },
    );
    expect(directory.findBySlug).not.toHaveBeenCalled();
    expect(provisioning.admit).not.toHaveBeenCalled();
  });

  it('a cached tenant without a cached member goes through admission', async () => {
    directory.cached.mockReturnValue(ACME);
    expect((await get('/probe/tenant', member)).status).toBe(200);
    expect(directory.findBySlug).not.toHaveBeenCalled();
    expect(provisioning.admit).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['suspended', 403, 'tenant_not_active'],
    ['provisioning', 403, 'not_a_member'],
  ] as const)(
    'a cached %s tenant refuses its cached member as an uncached one does',
    async (status, code, reason) => {
      const tenant = { ...ACME, status };
      directory.cached.mockReturnValue(tenant);
      provisioning.cachedMember.mockReturnValue(USER);
      const cachedAnswer = await get('/probe/tenant', member);
      directory.cached.mockReturnValue(undefined);
      provisioning.cachedMember.mockReturnValue(undefined);
      directory.findBySlug.mockResolvedValueOnce(tenant);
      const lookedUp = await get('/probe/tenant', member);
      expect(cachedAnswer).toMatchObject({ status: code, body: { code: reason } });
      expect({ ...lookedUp, body: { ...lookedUp.body, request_id: undefined } }).toEqual({
        ...cachedAnswer,
        body: { ...cachedAnswer.body, request_id: undefined },
      });
    },
  );

  it('unknown routes are 404 before any guard', async () => {
    expect((await get('/probe/nothing')).status).toBe(404);
  });
});
