import { strictMock } from 'test/support/strict-mock';
import type { TenantCache } from 'src/core/cache/tenant-cache';
import type { TenantRecord, UserRecord } from 'src/core/context/records';
import type { MembershipSource, Principal } from 'src/core/context/tenant-context';
import type { TenantTransactions } from 'src/core/database/tenant-transactions';
import type { AuditService } from 'src/modules/audit/audit.service';
import type { Invitation, InvitationsRepository } from 'src/modules/tenants/invitations.repository';
import type { TenantDomainsRepository } from 'src/modules/tenants/tenant-domains.repository';
import {
  UserProvisioningService,
  rowAdmits,
  type AdmissionFacts,
} from './user-provisioning.service';
import type { UsersRepository } from './users.repository';

/**
 * Admission decisions with strict fakes of the repositories (only the methods a path may use
 * exist); the HTTP matrix is test/e2e/admission-matrix.e2e-spec.ts.
 */

const TENANT: TenantRecord = {
  id: '00000000-0000-4000-8000-000000000001',
  slug: 'acme',
  name: 'Acme',
  status: 'active',
  allowedIssuers: [],
  claimsAdmit: true,
};
const CLAIMED: AdmissionFacts = { claimed: true, everyone: false };
const NOTHING: AdmissionFacts = { claimed: false, everyone: false };

function principal(claims: Record<string, unknown> = {}): Principal {
  return {
    provider: 'jwt',
    subject: 'ann',
    email: typeof claims.email === 'string' ? claims.email : undefined,
    emailVerified: claims.email_verified === true,
    claims: { sub: 'ann', ...claims },
    isPlatformAdmin: false,
  };
}

function user(source: MembershipSource, role: 'admin' | 'member' = 'member'): UserRecord {
  return {
    id: 'u1',
    tenantRole: role,
    membershipSource: source,
    email: null,
    displayName: null,
    avatarUrl: null,
  };
}

function setup(options: {
  /** The row TenantCache holds for the caller (none by default). */
  cached?: UserRecord;
  stored?: UserRecord;
  pendingInvitation?: Partial<Invitation>;
  domainHeld?: boolean;
  hasAdmin?: boolean;
  adminDesignated?: boolean;
}) {
  const calls: string[] = [];
  const record = (name: string, value: unknown) =>
    jest.fn(async (...args: unknown[]) => {
      calls.push(`${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
      return value;
    });
  const users = strictMock<UsersRepository>({
    read: record('read', options.stored),
    find: record('find', options.stored),
    lockTenant: record('lockTenant', undefined),
    hasActiveAdmin: record('hasActiveAdmin', options.hasAdmin ?? false),
    insert: jest.fn(
      async (
        _t: string,
        _i: unknown,
        _p: unknown,
        m: { source: MembershipSource; role: 'admin' | 'member' },
      ) => {
        calls.push(`insert(${m.source}, ${m.role})`);
        return user(m.source, m.role);
      },
    ),
    setMembership: jest.fn(
      async (
        _t: string,
        _id: string,
        _p: unknown,
        m: { source: MembershipSource; role: 'admin' | 'member' },
      ) => {
        calls.push(`setMembership(${m.source}, ${m.role})`);
        return user(m.source, m.role);
      },
    ),
    fillProfile: jest.fn(async (_t: string, row: UserRecord) => {
      calls.push('fillProfile');
      return row;
    }),
  });
  const invitation = options.pendingInvitation && {
    id: 'i1',
    role: 'member' as const,
    ...options.pendingInvitation,
  };
  const invitations = strictMock<InvitationsRepository>({
    isPending: record('isPending', invitation !== undefined),
    pendingFor: record('pendingFor', invitation),
    markAccepted: record('markAccepted', undefined),
    hasAdminDesignation: record('hasAdminDesignation', options.adminDesignated ?? false),
  });
  const domains = strictMock<TenantDomainsRepository>({
    holds: record('holds', options.domainHeld ?? false),
  });
  const transactions = strictMock<TenantTransactions>({
    run: jest.fn(async (_id: string, work: () => Promise<unknown>) => work()),
  });
  // TenantCache.user's contract (its own spec covers it): a cached row the service finds usable
  // is the answer; otherwise load, given the cached row. Empty unless `cached` is given.
  const cache = strictMock<TenantCache>({
    // As TenantCache.cachedUser: the cached row of this tenant's caller, if `usable` takes it.
    cachedUser: jest.fn(
      (
        tenantId: string,
        identity: { provider: string; subject: string },
        usable: (cached: UserRecord) => boolean,
      ) =>
        tenantId === TENANT.id &&
        identity.provider === 'jwt' &&
        identity.subject === 'ann' &&
        options.cached &&
        usable(options.cached)
          ? options.cached
          : undefined,
    ),
    user: jest.fn(
      async (
        _tenantId: string,
        _identity: unknown,
        usable: (cached: UserRecord) => boolean,
        load: (cached: UserRecord | undefined) => Promise<unknown>,
      ) => (options.cached && usable(options.cached) ? options.cached : load(options.cached)),
    ),
  });
  const audit = jest.fn(async () => undefined);
  const service = new UserProvisioningService(
    users,
    invitations,
    domains,
    transactions,
    strictMock<AuditService>({ record: audit }),
    cache,
  );
  return { service, calls, audit };
}

describe('rowAdmits', () => {
  it.each<[MembershipSource, AdmissionFacts, boolean]>([
    ['claim', CLAIMED, true],
    ['claim', NOTHING, false],
    ['claim', { claimed: false, everyone: true }, true],
    ['registration', NOTHING, true],
    ['setup_admin', NOTHING, true],
    ['invitation', NOTHING, true],
    ['domain', NOTHING, true],
    ['default', NOTHING, true],
    ['legacy', NOTHING, true],
    ['email_domain', CLAIMED, false],
    ['removed', CLAIMED, false],
    ['removed', { claimed: true, everyone: true }, false],
    ['system', { claimed: true, everyone: true }, false],
  ])('%s with %j → %s', (source, facts, admits) => {
    expect(rowAdmits(source, facts)).toBe(admits);
  });
});

describe('UserProvisioningService.admit', () => {
  const admit = (
    service: UserProvisioningService,
    claims: Record<string, unknown>,
    facts: AdmissionFacts,
    mayWrite = true,
  ) => service.admit(TENANT, principal(claims), facts, { mayWrite });

  it('a stranger naming a tenant costs reads only: no lock, no write', async () => {
    const { service, calls } = setup({});
    expect(await admit(service, { email: 'x@acme.example', email_verified: true }, NOTHING)).toBe(
      undefined,
    );
    expect(calls).toEqual([
      'read("00000000-0000-4000-8000-000000000001", {"provider":"jwt","subject":"ann"})',
      'isPending("00000000-0000-4000-8000-000000000001", "x@acme.example")',
      'holds("00000000-0000-4000-8000-000000000001", "acme.example")',
    ]);
  });

  it('without a verified e-mail nothing but a claim is even looked for', async () => {
    const { service, calls } = setup({ pendingInvitation: {}, domainHeld: true });
    for (const verified of [false, 'true', 1, undefined]) {
      expect(
        await admit(service, { email: 'x@acme.example', email_verified: verified }, NOTHING),
      ).toBe(undefined);
    }
    expect(calls.filter((c) => !c.startsWith('read'))).toEqual([]);
  });

  it('the first claim member of a tenant without admin or designated admin is admin', async () => {
    expect((await admit(setup({}).service, {}, CLAIMED))?.tenantRole).toBe('admin');
    expect((await admit(setup({ hasAdmin: true }).service, {}, CLAIMED))?.tenantRole).toBe(
      'member',
    );
    expect((await admit(setup({ adminDesignated: true }).service, {}, CLAIMED))?.tenantRole).toBe(
      'member',
    );
  });

  it('an invitation comes first, even for a caller whose claim lists the tenant', async () => {
    const { service, calls } = setup({ pendingInvitation: { role: 'admin' } });
    const joined = await admit(
      service,
      { email: 'Ann@Acme.Example', email_verified: true },
      CLAIMED,
    );
    expect(joined).toMatchObject({ membershipSource: 'invitation', tenantRole: 'admin' });
    expect(calls).toContain(
      'pendingFor("00000000-0000-4000-8000-000000000001", "ann@acme.example")',
    );
    expect(calls).toContain('markAccepted("00000000-0000-4000-8000-000000000001", "i1", "u1")');
  });

  it('a verified domain joins as member, never admin, even in a tenant without admin', async () => {
    const { service } = setup({ domainHeld: true });
    expect(
      await admit(service, { email: 'x@acme.example', email_verified: true }, NOTHING),
    ).toMatchObject({ membershipSource: 'domain', tenantRole: 'member' });
  });

  it('a removed member comes back by invitation only, not by claim or domain', async () => {
    const removed = setup({ stored: user('removed'), domainHeld: true });
    expect(
      await admit(removed.service, { email: 'x@acme.example', email_verified: true }, CLAIMED),
    ).toBe(undefined);
    expect(removed.calls.some((c) => c.startsWith('setMembership'))).toBe(false);
    const invited = setup({ stored: user('removed'), pendingInvitation: {} });
    expect(
      await admit(invited.service, { email: 'x@acme.example', email_verified: true }, NOTHING),
    ).toMatchObject({ membershipSource: 'invitation' });
  });

  it('a claim member without the claim stays out, whatever their domain', async () => {
    const { service, calls } = setup({ stored: user('claim', 'admin'), domainHeld: true });
    expect(await admit(service, { email: 'x@acme.example', email_verified: true }, NOTHING)).toBe(
      undefined,
    );
    expect(calls.some((c) => c.startsWith('holds') || c.startsWith('lockTenant'))).toBe(false);
  });

  it('a pre-upgrade email_domain row is confirmed by a claim, keeping its role', async () => {
    const { service, calls } = setup({ stored: user('email_domain') });
    expect(await admit(service, {}, CLAIMED)).toMatchObject({ membershipSource: 'claim' });
    expect(calls).toContain('setMembership(claim, member)');
    expect(await admit(setup({ stored: user('email_domain') }).service, {}, NOTHING)).toBe(
      undefined,
    );
  });

  it('nothing is written in a tenant that is not active; an admitting row is still recognized', async () => {
    const stranger = setup({});
    expect(await admit(stranger.service, {}, CLAIMED, false)).toBe(undefined);
    expect(stranger.calls.some((c) => c.startsWith('lockTenant') || c.startsWith('insert'))).toBe(
      false,
    );
    const member = setup({ stored: user('invitation') });
    expect(await admit(member.service, {}, NOTHING, false)).toMatchObject({
      membershipSource: 'invitation',
    });
  });
});

describe('UserProvisioningService.admit: paths without a write, and the audit event of a join', () => {
  const admit = (
    service: UserProvisioningService,
    claims: Record<string, unknown>,
    facts: AdmissionFacts,
    mayWrite = true,
  ) => service.admit(TENANT, principal(claims), facts, { mayWrite });
  const VERIFIED = { email: 'Ann@Acme.Example', email_verified: true };

  it('a cached row that admits, with nothing to fill, is the answer: no read, no write', async () => {
    const { service, calls, audit } = setup({ cached: user('invitation', 'admin') });
    expect(await admit(service, {}, NOTHING)).toEqual(user('invitation', 'admin'));
    expect(calls).toEqual([]);
    expect(audit).not.toHaveBeenCalled();
  });

  it('cachedMember answers at once exactly when admit answers with the cached row untouched', async () => {
    const sources = ['claim', 'invitation', 'registration', 'email_domain', 'removed', 'system'];
    let atOnce = 0;
    for (const source of sources as MembershipSource[]) {
      for (const facts of [NOTHING, CLAIMED]) {
        for (const claims of [{}, { email: 'ann@acme.example' }]) {
          const cached = user(source);
          const quick = setup({ cached }).service.cachedMember(TENANT, principal(claims), facts);
          const full = setup({ cached });
          const answer = await admit(full.service, claims, facts);
          if (quick) {
            atOnce++;
            expect(quick).toBe(cached);
            expect(answer).toBe(cached);
            expect(full.calls).toEqual([]);
          } else {
            expect(answer === cached && full.calls.length === 0).toBe(false);
          }
        }
      }
    }
    // claim with the claim; invitation and registration with or without it; never with an e-mail to add
    expect(atOnce).toBe(5);
    expect(setup({}).service.cachedMember(TENANT, principal({}), CLAIMED)).toBeUndefined();
  });

  it('a cached row that no longer admits is decided again without a second read', async () => {
    const { service, calls } = setup({ cached: user('claim') });
    expect(await admit(service, {}, NOTHING)).toBe(undefined);
    expect(calls.some((c) => c.startsWith('read'))).toBe(false);
  });

  it('a row whose profile has gaps the token fills is completed under the lock, not re-joined', async () => {
    const { service, calls, audit } = setup({ stored: user('registration', 'admin') });
    expect(await admit(service, { email: 'ann@acme.example' }, NOTHING)).toMatchObject({
      membershipSource: 'registration',
      tenantRole: 'admin',
    });
    expect(calls.filter((c) => !c.startsWith('read') && !c.startsWith('find'))).toEqual([
      'lockTenant("00000000-0000-4000-8000-000000000001")',
      'fillProfile',
    ]);
    expect(audit).not.toHaveBeenCalled();
  });

  it('in a tenant that is not active the gaps stay: the stored row is returned without a lock', async () => {
    const { service, calls } = setup({ stored: user('registration') });
    expect(await admit(service, { email: 'ann@acme.example' }, NOTHING, false)).toEqual(
      user('registration'),
    );
    expect(calls).toEqual([
      'read("00000000-0000-4000-8000-000000000001", {"provider":"jwt","subject":"ann"})',
    ]);
  });

  it('everyone belongs (default tenant, development provider): joins as default', async () => {
    const { service, calls } = setup({ hasAdmin: true });
    expect(await admit(service, {}, { claimed: false, everyone: true })).toMatchObject({
      membershipSource: 'default',
      tenantRole: 'member',
    });
    expect(calls).toContain('insert(default, member)');
  });

  it('a removed admin comes back by invitation with the invitation’s role, not the old one', async () => {
    const { service, calls } = setup({ stored: user('removed', 'admin'), pendingInvitation: {} });
    expect(await admit(service, VERIFIED, NOTHING)).toMatchObject({
      membershipSource: 'invitation',
      tenantRole: 'member',
    });
    expect(calls).toContain('setMembership(invitation, member)');
  });

  it.each<[string, Parameters<typeof setup>[0], Record<string, unknown>, AdmissionFacts, object]>([
    [
      'a claim (first member: admin)',
      {},
      {},
      CLAIMED,
      { membership_source: 'claim', role: 'admin' },
    ],
    [
      'an invitation',
      { pendingInvitation: { id: 'i7', role: 'admin' } },
      VERIFIED,
      NOTHING,
      { membership_source: 'invitation', role: 'admin', invitation_id: 'i7' },
    ],
    [
      'a verified domain',
      { domainHeld: true },
      VERIFIED,
      NOTHING,
      { membership_source: 'domain', role: 'member', domain: 'acme.example' },
    ],
  ])(
    'a join by %s writes one tenant.member.join event',
    async (_by, options, claims, facts, details) => {
      const { service, audit } = setup(options);
      const joined = await admit(service, claims, facts);
      expect(joined?.id).toBe('u1');
      expect(audit).toHaveBeenCalledTimes(1);
      expect(audit).toHaveBeenCalledWith({
        tenantId: TENANT.id,
        actorId: 'u1',
        action: 'tenant.member.join',
        targetType: 'member',
        targetId: 'u1',
        details,
      });
    },
  );

  it('a refused caller leaves no audit event', async () => {
    const { service, audit } = setup({ stored: user('removed'), domainHeld: true });
    expect(await admit(service, VERIFIED, CLAIMED)).toBe(undefined);
    expect(audit).not.toHaveBeenCalled();
  });
});
