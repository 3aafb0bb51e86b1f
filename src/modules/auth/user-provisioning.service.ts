import { Injectable } from '@nestjs/common';
import { canonicalEmail, emailDomain } from 'src/common/email';
import { TenantCache } from 'src/core/cache/tenant-cache';
import type { TenantRecord, UserRecord } from 'src/core/context/records';
import type { MembershipSource, Principal, TenantRole } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { AuditService } from 'src/modules/audit/audit.service';
import { InvitationsRepository } from 'src/modules/tenants/invitations.repository';
import { TenantDomainsRepository } from 'src/modules/tenants/tenant-domains.repository';
import {
  UsersRepository,
  profileFillsGaps,
  type UserIdentity,
  type UserProfile,
} from './users.repository';

const MAX_AVATAR_URL_LENGTH = 2_048;

/** What the request itself says about the caller's place in the selected tenant. */
export interface AdmissionFacts {
  /** The token's tenant claim lists the tenant. */
  readonly claimed: boolean;
  /**
   * Every authenticated caller belongs: the default tenant of a single-tenant install, or any
   * tenant with the `none` development provider.
   */
  readonly everyone: boolean;
}

/**
 * Whether an existing membership row admits by itself, with nothing to write: claim memberships
 * while the token lists the tenant (or everyone belongs), the row kinds always, `email_domain`,
 * `removed` and `system` never (they need a fact that changes the row, see admit()).
 */
export function rowAdmits(source: MembershipSource, facts: AdmissionFacts): boolean {
  switch (source) {
    case 'claim':
      return facts.claimed || facts.everyone;
    case 'registration':
    case 'setup_admin':
    case 'invitation':
    case 'domain':
    case 'default':
    case 'legacy':
      return true;
    case 'email_domain':
    case 'removed':
    case 'system':
      return false;
  }
}

/**
 * Admission (DESIGN.md §2): the caller's membership of the selected tenant, from explicit facts
 * only, provisioned just in time. A cached or stored row that admits by itself is returned as is
 * (a steady stream of requests neither reads nor writes). Otherwise one write transaction, under
 * the tenant's membership lock, looks for a fact, in this order:
 * 1. a pending invitation for the token's e-mail, which must be verified (`email_verified: true`):
 *    joins (or rejoins, or confirms) with the invitation's role;
 * 2. the token's claim lists the tenant, or everyone belongs to it: joins as `claim` (`default`);
 *    the first such member of a tenant with no admin, and no admin named by invitation, is admin;
 * 3. the token's verified e-mail is at one of the tenant's own domains: joins as `member`.
 * A removed member comes back only by invitation (1); a claim member whose token no longer lists
 * the tenant stays out (the identity provider is the source of truth) unless invited.
 * Nothing is written in a tenant that is not active (`mayWrite: false`).
 */
@Injectable()
export class UserProvisioningService {
  constructor(
    private readonly users: UsersRepository,
    private readonly invitations: InvitationsRepository,
    private readonly domains: TenantDomainsRepository,
    private readonly transactions: TenantTransactions,
    private readonly audit: AuditService,
    private readonly cache: TenantCache,
  ) {}

  /**
   * What admit() answers at once: the caller's user as this process has it cached, when its row
   * admits the caller under `facts` and the token has nothing to add to its profile. Undefined
   * means "ask admit()".
   */
  cachedMember(
    tenant: TenantRecord,
    principal: Principal,
    facts: AdmissionFacts,
  ): UserRecord | undefined {
    const profile = profileOf(principal);
    return this.cache.cachedUser(tenant.id, principal, (user) => admitsAsIs(user, facts, profile));
  }

  /** The caller's user in `tenant`, or undefined when the caller is not (and cannot become) a member. */
  async admit(
    tenant: TenantRecord,
    principal: Principal,
    facts: AdmissionFacts,
    options: { mayWrite: boolean },
  ): Promise<UserRecord | undefined> {
    const identity = { provider: principal.provider, subject: principal.subject };
    const profile = profileOf(principal);
    const quick = (user: UserRecord | undefined) =>
      user !== undefined && admitsAsIs(user, facts, profile);
    return this.cache.user(tenant.id, identity, quick, async (cached) => {
      const stored = cached ?? (await this.users.read(tenant.id, identity));
      if (
        stored &&
        rowAdmits(stored.membershipSource, facts) &&
        (quick(stored) || !options.mayWrite)
      )
        return stored;
      if (options.mayWrite && (await this.mayJoin(tenant.id, principal, stored, facts)))
        return this.transactions.run(tenant.id, () =>
          this.admitLocked(tenant.id, principal, identity, profile, facts),
        );
      return undefined;
    });
  }

  /**
   * Whether some fact could admit the caller, checked with plain reads so that a stranger naming
   * a tenant costs no write transaction and never waits on the tenant's membership lock. The
   * write path checks again under the lock.
   */
  private async mayJoin(
    tenantId: string,
    principal: Principal,
    row: UserRecord | undefined,
    facts: AdmissionFacts,
  ): Promise<boolean> {
    if (row && rowAdmits(row.membershipSource, facts)) return true; // profile to fill
    const openToFacts = !row || row.membershipSource === 'email_domain';
    if (openToFacts && (facts.claimed || facts.everyone)) return true;
    const email = principal.emailVerified && principal.email ? principal.email : undefined;
    if (!email) return false;
    if (await this.invitations.isPending(tenantId, canonicalEmail(email))) return true;
    return openToFacts && (await this.domains.holds(tenantId, emailDomain(email)));
  }

  private async admitLocked(
    tenantId: string,
    principal: Principal,
    identity: UserIdentity,
    profile: UserProfile,
    facts: AdmissionFacts,
  ): Promise<UserRecord | undefined> {
    await this.users.lockTenant(tenantId);
    const row = await this.users.find(tenantId, identity);
    if (row && rowAdmits(row.membershipSource, facts))
      return this.users.fillProfile(tenantId, row, profile);

    const email = principal.emailVerified && principal.email ? principal.email : undefined;
    const invitation =
      email && (await this.invitations.pendingFor(tenantId, canonicalEmail(email)));
    if (invitation) {
      // The invitation's role: a row that did not admit (removed, or a claim the IdP withdrew)
      // keeps nothing of its old role.
      const user = await this.join(tenantId, identity, profile, row, 'invitation', invitation.role);
      await this.invitations.markAccepted(tenantId, invitation.id, user.id);
      await this.recordJoin(tenantId, user, { invitation_id: invitation.id });
      return user;
    }
    // Only an invitation brings back a removed member, or a claim member the claim left.
    if (row && row.membershipSource !== 'email_domain') return undefined;

    if (facts.claimed || facts.everyone) {
      const role = row?.tenantRole ?? ((await this.needsAdmin(tenantId)) ? 'admin' : 'member');
      const source = facts.claimed ? 'claim' : 'default';
      const user = await this.join(tenantId, identity, profile, row, source, role);
      await this.recordJoin(tenantId, user, {});
      return user;
    }
    if (email && (await this.domains.holds(tenantId, emailDomain(email)))) {
      const user = await this.join(tenantId, identity, profile, row, 'domain', 'member');
      await this.recordJoin(tenantId, user, { domain: emailDomain(email) });
      return user;
    }
    return undefined;
  }

  /** A tenant with no admin and no admin named by invitation: its first claim member leads it. */
  private async needsAdmin(tenantId: string): Promise<boolean> {
    return (
      !(await this.users.hasActiveAdmin(tenantId)) &&
      !(await this.invitations.hasAdminDesignation(tenantId))
    );
  }

  private join(
    tenantId: string,
    identity: UserIdentity,
    profile: UserProfile,
    row: UserRecord | undefined,
    source: MembershipSource,
    role: TenantRole,
  ): Promise<UserRecord> {
    return row
      ? this.users.setMembership(tenantId, row.id, profile, { source, role })
      : this.users.insert(tenantId, identity, profile, { source, role });
  }

  private recordJoin(
    tenantId: string,
    user: UserRecord,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record({
      tenantId,
      actorId: user.id,
      action: 'tenant.member.join',
      targetType: 'member',
      targetId: user.id,
      details: { membership_source: user.membershipSource, role: user.tenantRole, ...details },
    });
  }
}

/** A cached or stored row that admit() hands back as it is: it admits, and the token adds nothing. */
function admitsAsIs(user: UserRecord, facts: AdmissionFacts, profile: UserProfile): boolean {
  return rowAdmits(user.membershipSource, facts) && !profileFillsGaps(user, profile);
}

export function profileOf(principal: Principal): UserProfile {
  const picture = principal.claims.picture;
  const avatarUrl =
    typeof picture === 'string' &&
    picture.length <= MAX_AVATAR_URL_LENGTH &&
    /^https?:\/\/\S+$/i.test(picture)
      ? picture
      : null;
  return {
    email: principal.email ?? null,
    displayName: principal.name ?? null,
    avatarUrl,
  };
}
