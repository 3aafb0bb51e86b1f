import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import type { Principal } from 'src/core/context/tenant-context';
import { TenantRegistryWatcher } from 'src/core/cache/tenant-registry.watcher';
import { createApp } from 'src/main';
import { TenantCache } from 'src/core/cache/tenant-cache';
import { NO_ISSUERS, NO_QUOTA_OVERRIDES, type TenantRecord } from 'src/core/context/records';
import { TenantsRepository } from 'src/modules/tenants/tenants.repository';
import {
  UserProvisioningService,
  type AdmissionFacts,
} from 'src/modules/auth/user-provisioning.service';
import { UsersRepository } from 'src/modules/auth/users.repository';
import { jwtAuthEnv } from 'test/factories/tokens';
import { createTenant, uniqueMarker } from 'test/factories/seed';
import { ADMIN_URL, describeWithPostgres } from 'test/support/environment';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Just-in-time users on the real PostgreSQL: keyed by (tenant, provider, subject); the first claim
 * member of a tenant without admin is its admin (also under concurrency); profile fields are
 * filled but never overwritten; the provisioning service's cache spares the database on repeat
 * calls. Here through UserProvisioningService.admit with a tenant claim (the HTTP admission
 * matrix is test/e2e/admission-matrix.e2e-spec.ts).
 */

interface Profile {
  email?: string;
  displayName?: string;
  avatarUrl?: string;
}
const EMPTY: Profile = {};
const CLAIMED: AdmissionFacts = { claimed: true, everyone: false };

interface UserRow {
  id: string;
  tenant_id: string;
  tenant_role: string;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
  updated_at: Date;
}

describeWithPostgres('auth: just-in-time user provisioning', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let service: UserProvisioningService;
  let superuser: Client;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 8 });
    app = await createApp(db.config(jwtAuthEnv({ BOARDS_DATABASE_POOL_SIZE: '8' })));
    service = app.get(UserProvisioningService);
    // A superuser session sees every tenant's rows (RLS does not apply to it).
    const url = new URL(ADMIN_URL);
    url.pathname = new URL(db.env.BOARDS_DATABASE_URL).pathname;
    superuser = new Client({ connectionString: url.toString() });
    await superuser.connect();
  }, 60_000);

  afterAll(async () => {
    await superuser?.end();
    await app?.close();
    await db?.drop();
  });

  async function freshTenant(): Promise<TenantRecord> {
    const { id, slug } = await createTenant(db.owner, uniqueMarker('jit'));
    return { id, slug, name: slug, status: 'active', allowedIssuers: [], claimsAdmit: true };
  }

  function principal(identity: { provider: string; subject: string }, profile: Profile): Principal {
    return {
      provider: identity.provider,
      subject: identity.subject,
      email: profile.email,
      emailVerified: false,
      name: profile.displayName,
      claims: { sub: identity.subject, ...(profile.avatarUrl && { picture: profile.avatarUrl }) },
      isPlatformAdmin: false,
    };
  }

  /** Admission of a caller whose token's claim lists the tenant. */
  async function provision(
    tenantId: string,
    identity: { provider: string; subject: string },
    profile: Profile,
  ) {
    const tenant: TenantRecord = {
      id: tenantId,
      slug: 'x',
      name: 'x',
      status: 'active',
      allowedIssuers: [],
      claimsAdmit: true,
    };
    const user = await service.admit(tenant, principal(identity, profile), CLAIMED, {
      mayWrite: true,
    });
    if (!user) throw new Error('not admitted');
    return user;
  }

  async function rows(tenantId: string, subject?: string): Promise<UserRow[]> {
    const { rows: found } = await superuser.query<UserRow>(
      `SELECT id, tenant_id, tenant_role, email, display_name, avatar_url, updated_at FROM users
        WHERE tenant_id = $1 AND ($2::text IS NULL OR auth_subject = $2) ORDER BY created_at`,
      [tenantId, subject ?? null],
    );
    return found;
  }

  it('the first user of a tenant becomes admin, the next ones member', async () => {
    const tenant = await freshTenant();
    const first = await provision(tenant.id, { provider: 'jwt', subject: 'ada' }, EMPTY);
    const second = await provision(tenant.id, { provider: 'jwt', subject: 'bob' }, EMPTY);
    const again = await provision(tenant.id, { provider: 'jwt', subject: 'ada' }, EMPTY);
    expect(first.tenantRole).toBe('admin');
    expect(second.tenantRole).toBe('member');
    expect(again).toEqual(first);
    expect((await rows(tenant.id)).map((r) => r.tenant_role)).toEqual(['admin', 'member']);
  });

  it('the same subject from another provider is another user', async () => {
    const tenant = await freshTenant();
    const viaJwt = await provision(tenant.id, { provider: 'jwt', subject: 'sam' }, EMPTY);
    const viaOidc = await provision(
      tenant.id,
      { provider: 'oidc:idp.example.com', subject: 'sam' },
      EMPTY,
    );
    expect(viaOidc.id).not.toBe(viaJwt.id);
    expect(viaOidc.tenantRole).toBe('member');
  });

  it('fills empty profile fields from claims and never overwrites a stored value', async () => {
    const tenant = await freshTenant();
    const identity = { provider: 'jwt', subject: 'fill-me' };
    const created = await provision(tenant.id, identity, EMPTY);
    const [blank] = await rows(tenant.id, 'fill-me');
    expect(blank).toMatchObject({ email: null, display_name: null, avatar_url: null });

    const filled = await provision(tenant.id, identity, {
      email: 'first@acme.test',
      displayName: 'First Name',
    });
    expect(filled).toMatchObject({
      id: created.id,
      email: 'first@acme.test',
      displayName: 'First Name',
    });
    const [afterFill] = await rows(tenant.id, 'fill-me');
    expect(afterFill.updated_at.getTime()).toBeGreaterThanOrEqual(blank.updated_at.getTime());

    const unchanged = await provision(tenant.id, identity, {
      email: 'second@acme.test',
      displayName: 'Second Name',
      avatarUrl: 'https://cdn.acme.test/a.png',
    });
    expect(unchanged).toMatchObject({
      email: 'first@acme.test',
      displayName: 'First Name',
      avatarUrl: 'https://cdn.acme.test/a.png',
    });
    const [final] = await rows(tenant.id, 'fill-me');
    expect(final).toMatchObject({
      email: 'first@acme.test',
      display_name: 'First Name',
      avatar_url: 'https://cdn.acme.test/a.png',
    });

    // Nothing new to fill: no write at all (updated_at unchanged).
    await provision(tenant.id, identity, {
      email: 'third@acme.test',
      displayName: 'Third',
      avatarUrl: 'https://cdn.acme.test/b.png',
    });
    const [untouched] = await rows(tenant.id, 'fill-me');
    expect(untouched.updated_at).toEqual(final.updated_at);
  });

  it('the same subject in two tenants is two users, each provisioned in its own tenant', async () => {
    const [a, b] = [await freshTenant(), await freshTenant()];
    await app.get(TenantCache).clear();
    const inA = await provision(a.id, { provider: 'jwt', subject: 'twin' }, EMPTY);
    const inB = await provision(b.id, { provider: 'jwt', subject: 'twin' }, EMPTY);
    expect(inA.id).not.toBe(inB.id);
    expect([inA.tenantRole, inB.tenantRole]).toEqual(['admin', 'admin']);
    expect((await rows(a.id, 'twin')).map((r) => r.id)).toEqual([inA.id]);
    expect((await rows(b.id, 'twin')).map((r) => r.id)).toEqual([inB.id]);
  });

  it.each([1, 2, 3, 4, 5])(
    'concurrent first requests of eight users make exactly one admin (round %i)',
    async () => {
      const tenant = await freshTenant();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          provision(tenant.id, { provider: 'jwt', subject: `racer-${i}` }, EMPTY),
        ),
      );
      expect(results.filter((u) => u.tenantRole === 'admin')).toHaveLength(1);
      const stored = await rows(tenant.id);
      expect(stored).toHaveLength(8);
      expect(stored.filter((r) => r.tenant_role === 'admin')).toHaveLength(1);
    },
  );

  it('concurrent first requests of one identity make one row', async () => {
    const tenant = await freshTenant();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        provision(tenant.id, { provider: 'jwt', subject: 'twice' }, EMPTY),
      ),
    );
    expect(new Set(results.map((u) => u.id)).size).toBe(1);
    expect(await rows(tenant.id, 'twice')).toHaveLength(1);
  });

  it('the provisioning service serves repeat calls from its cache, and fills gaps once', async () => {
    const users = app.get(UsersRepository);
    // The change-log watcher would drop entries when it reads this test's own writes (and those of
    // the tests before): counts of reads and writes are exact only without it.
    const watcher = app.get(TenantRegistryWatcher);
    watcher.onApplicationShutdown();
    await watcher.poll(); // waits for a check under way, and reads the log up to here
    await app.get(TenantCache).clear();
    const tenant = await freshTenant();
    const reads = jest.spyOn(users, 'read');
    const writes = jest.spyOn(users, 'lockTenant');
    const caller = (email?: string) => principal({ provider: 'jwt', subject: 'cached' }, { email });
    const admit = async (email?: string) => {
      const user = await service.admit(tenant, caller(email), CLAIMED, { mayWrite: true });
      if (!user) throw new Error('not admitted');
      return user;
    };
    try {
      const first = await admit();
      for (let i = 0; i < 10; i += 1) expect(await admit()).toEqual(first);
      expect([reads.mock.calls.length, writes.mock.calls.length]).toEqual([1, 1]);

      // A token bringing a value the row lacks goes to the database once, then is cached again.
      const withEmail = await admit('cached@acme.test');
      expect(withEmail.email).toBe('cached@acme.test');
      await admit('cached@acme.test');
      await admit('other@acme.test');
      expect(writes).toHaveBeenCalledTimes(2);
      expect(reads).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
      writes.mockRestore();
      await watcher.onApplicationBootstrap();
    }
  });

  it('reads tenant records for the cache as their rows, sharing one empty issuer list and one empty set of quotas', async () => {
    const tenants = app.get(TenantsRepository);
    const [plain, other, bound] = await Promise.all(
      ['plain', 'other', 'bound'].map((name) => createTenant(db.owner, uniqueMarker(name))),
    );
    await superuser.query(
      `UPDATE tenants SET allowed_issuers = ARRAY['https://id.acme.test'], quotas = '{"boards": 7}' WHERE id = $1`,
      [bound.id],
    );
    const [a, b, c] = await Promise.all(
      [plain, other, bound].map((t) => tenants.findRecordBySlug(t.slug)),
    );
    expect(a).toEqual({
      id: plain.id,
      slug: plain.slug,
      name: plain.slug,
      status: 'active',
      allowedIssuers: [],
      claimsAdmit: true,
      quotas: {},
    });
    expect([a?.allowedIssuers, b?.allowedIssuers]).toEqual([NO_ISSUERS, NO_ISSUERS]);
    expect(a?.allowedIssuers).toBe(b?.allowedIssuers);
    expect(a?.quotas).toBe(NO_QUOTA_OVERRIDES);
    expect(b?.quotas).toBe(NO_QUOTA_OVERRIDES);
    expect(c).toMatchObject({ allowedIssuers: ['https://id.acme.test'], quotas: { boards: 7 } });
    expect(Object.isFrozen(c?.quotas)).toBe(false);
    expect(await tenants.findRecordBySlug(uniqueMarker('nobody'))).toBeUndefined();
  });
});
