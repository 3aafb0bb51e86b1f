import { Injectable } from '@nestjs/common';
import {
  DOMAIN_PATTERN,
  PUBLIC_MAIL_DOMAINS,
  asciiLower,
  canonicalEmail,
  emailDomain,
} from 'src/common/email';
import { decodeCursor, toPage } from 'src/common/pagination';
import { TenantCache } from 'src/core/cache/tenant-cache';
import { BoardsConfig } from 'src/core/config/boards-config';
import type { Principal, TenantRole } from 'src/core/context/tenant-context';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { AuditService } from 'src/modules/audit/audit.service';
import type { CreateInvitationDto } from './dto/create-invitation.dto';
import {
  toInvitationResponse,
  type InvitationPageResponse,
  type InvitationResponse,
  type ListInvitationsQuery,
} from './dto/invitation.response';
import type { ListTenantMembersQuery } from './dto/list-tenant-members.query';
import {
  toTenantDomainResponse,
  type TenantDomainListResponse,
  type TenantDomainResponse,
} from './dto/tenant-domain.dto';
import {
  toTenantMemberResponse,
  type TenantMemberPageResponse,
  type TenantMemberResponse,
} from './dto/tenant-member.response';
import { InvitationsRepository } from './invitations.repository';
import { MemberRemovalHooks } from './member-removal.hooks';
import { MembersRepository, type Member } from './members.repository';
import { TenantDomainsRepository } from './tenant-domains.repository';
import { TenantErrors } from './tenants.errors';

/**
 * Who manages a tenant's memberships: one of its admins (through /api/tenant/*, with the tenant
 * of the request) or a platform admin (through /api/setup/tenant/{id}/*).
 */
export interface MembershipActor {
  readonly tenantId: string;
  readonly tenantSlug: string;
  readonly principal: Principal;
  /** The acting user in the tenant (tenant routes); null for a platform admin acting from outside. */
  readonly user: { readonly id: string; readonly role: TenantRole } | null;
  readonly requestId: string | null;
}

/**
 * Members, invitations and verified domains of one tenant (DESIGN.md §2 "Admission"). Every
 * change runs in the tenant's transaction under the tenant's membership lock (the lock admission
 * takes too), writes its audit event there, and drops the changed user from the caches at once
 * (other replicas follow the user-change log within a second).
 */
@Injectable()
export class MembershipService {
  constructor(
    private readonly config: BoardsConfig,
    private readonly transactions: TenantTransactions,
    private readonly members: MembersRepository,
    private readonly invitations: InvitationsRepository,
    private readonly domains: TenantDomainsRepository,
    private readonly removalHooks: MemberRemovalHooks,
    private readonly audit: AuditService,
    private readonly cache: TenantCache,
  ) {}

  // ---- members ----------------------------------------------------------------------------------

  async listMembers(
    actor: MembershipActor,
    query: ListTenantMembersQuery,
  ): Promise<TenantMemberPageResponse> {
    this.requireAdmin(actor);
    const limit = query.limit ?? 20;
    const rows = await this.transactions.run(actor.tenantId, () =>
      this.members.list({
        tenantId: actor.tenantId,
        role: query.role,
        source: query.membership_source,
        limit,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
      }),
    );
    return toPage(
      rows,
      limit,
      (m) => ({ value: m.joinedAt.toISOString(), id: m.userId }),
      toTenantMemberResponse,
    );
  }

  /** Admin ⇄ member. Demoting the last admin is 409. */
  async changeRole(
    actor: MembershipActor,
    userId: string,
    role: TenantRole,
  ): Promise<TenantMemberResponse> {
    this.requireAdmin(actor);
    const changed = await this.transactions.run(actor.tenantId, async () => {
      await this.lockAsAdmin(actor);
      const member = await this.members.find(actor.tenantId, userId);
      if (!member) throw TenantErrors.memberNotFound();
      if (member.role === role) return member;
      if (
        member.role === 'admin' &&
        (await this.members.countAdminsExcept(actor.tenantId, userId)) === 0
      )
        throw TenantErrors.lastAdmin();
      const updated = await this.members.setRole(actor.tenantId, userId, role);
      await this.record(actor, 'tenant.member.role_change', userId, {
        from: member.role,
        to: role,
      });
      return updated;
    });
    await this.forget(actor.tenantId, changed);
    return toTenantMemberResponse(changed);
  }

  /**
   * Ends someone's membership (admins), or the caller's own (`leave`). Their board memberships go
   * with them; the boards they own pass to the removing admin, or, when they leave or a platform
   * admin removes them, to the tenant's longest-standing admin (else member). The last admin
   * cannot go (409). A claim-sourced member stays out even while the identity provider still lists
   * the tenant: only a new invitation readmits a removed member.
   */
  async removeMember(actor: MembershipActor, userId: string): Promise<void> {
    this.requireAdmin(actor);
    await this.end(actor, userId, 'tenant.member.remove');
  }

  async leave(actor: MembershipActor): Promise<void> {
    if (!actor.user) throw TenantErrors.memberNotFound();
    await this.end(actor, actor.user.id, 'tenant.member.leave');
  }

  private async end(actor: MembershipActor, userId: string, action: string): Promise<void> {
    const removed = await this.transactions.run(actor.tenantId, async () => {
      await this.members.lockTenant(actor.tenantId);
      if (action !== 'tenant.member.leave') await this.confirmAdmin(actor);
      const member = await this.members.find(actor.tenantId, userId);
      if (!member) throw TenantErrors.memberNotFound();
      if (
        member.role === 'admin' &&
        (await this.members.countAdminsExcept(actor.tenantId, userId)) === 0
      )
        throw TenantErrors.lastAdmin();
      const receiverId =
        actor.user && actor.user.id !== userId
          ? actor.user.id
          : (await this.members.successor(actor.tenantId, userId))?.userId;
      if (!receiverId) throw TenantErrors.lastMember();
      const report = await this.removalHooks.run({ tenantId: actor.tenantId, userId, receiverId });
      const ended = await this.members.markRemoved(actor.tenantId, userId);
      await this.record(actor, action, userId, {
        role: member.role,
        membership_source: member.source,
        receiver: receiverId,
        ...report,
      });
      return ended;
    });
    await this.forget(actor.tenantId, removed);
  }

  // ---- invitations ------------------------------------------------------------------------------

  async invite(actor: MembershipActor, dto: CreateInvitationDto): Promise<InvitationResponse> {
    this.requireAdmin(actor);
    const email = canonicalEmail(dto.email);
    const invitation = await this.transactions.run(actor.tenantId, async () => {
      await this.lockAsAdmin(actor);
      const created = await this.invitations.create({
        tenantId: actor.tenantId,
        email,
        role: dto.role ?? 'member',
        invitedBy: actor.user?.id ?? null,
        ttlDays: dto.expires_in_days ?? this.config.tenancy.invitationTtlDays,
      });
      if (!created) throw TenantErrors.invitationPending(email);
      await this.record(actor, 'tenant.invitation.create', created.id, {
        email,
        role: created.role,
        expires_at: created.expiresAt.toISOString(),
      });
      return created;
    });
    return toInvitationResponse(invitation, actor.tenantSlug);
  }

  async listInvitations(
    actor: MembershipActor,
    query: ListInvitationsQuery,
  ): Promise<InvitationPageResponse> {
    this.requireAdmin(actor);
    const limit = query.limit ?? 20;
    const rows = await this.transactions.run(actor.tenantId, () =>
      this.invitations.list({
        tenantId: actor.tenantId,
        status: query.status,
        limit,
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
      }),
    );
    return toPage(
      rows,
      limit,
      (i) => ({ value: i.createdAt.toISOString(), id: i.id }),
      (i) => toInvitationResponse(i, actor.tenantSlug),
    );
  }

  async revokeInvitation(actor: MembershipActor, id: string): Promise<void> {
    this.requireAdmin(actor);
    await this.transactions.run(actor.tenantId, async () => {
      await this.lockAsAdmin(actor);
      const revoked = await this.invitations.revoke(actor.tenantId, id);
      if (!revoked) throw TenantErrors.invitationNotFound();
      await this.record(actor, 'tenant.invitation.revoke', id, { email: revoked.email });
    });
  }

  // ---- domains ----------------------------------------------------------------------------------

  async listDomains(actor: MembershipActor): Promise<TenantDomainListResponse> {
    this.requireAdmin(actor);
    const domains = await this.domains.list(actor.tenantId);
    return { items: domains.map(toTenantDomainResponse) };
  }

  /**
   * Adds one of the tenant's own e-mail domains. A tenant admin may add only the domain of their
   * own verified e-mail (and never a public mail provider's); a platform admin may add any. A
   * domain is held by one tenant at most (409 otherwise).
   */
  async addDomain(actor: MembershipActor, input: string): Promise<TenantDomainResponse> {
    this.requireAdmin(actor);
    const domain = asciiLower(input.trim());
    if (!DOMAIN_PATTERN.test(domain)) throw TenantErrors.invalidDomain(input);
    if (actor.user) {
      const own = actor.principal.email;
      if (!actor.principal.emailVerified || !own || emailDomain(own) !== domain)
        throw TenantErrors.domainNotProven(domain);
      if (PUBLIC_MAIL_DOMAINS.has(domain)) throw TenantErrors.publicMailDomain(domain);
    }
    const added = await this.transactions.run(actor.tenantId, async () => {
      await this.lockAsAdmin(actor);
      const outcome = await this.domains.add(actor.tenantId, domain, identityOf(actor.principal));
      if (outcome === 'held') throw TenantErrors.domainHeld(domain);
      if (outcome === 'taken') throw TenantErrors.domainTaken(domain);
      await this.record(actor, 'tenant.domain.add', domain, {});
      return outcome.added;
    });
    return toTenantDomainResponse(added);
  }

  async removeDomain(actor: MembershipActor, input: string): Promise<void> {
    this.requireAdmin(actor);
    const domain = asciiLower(input.trim());
    await this.transactions.run(actor.tenantId, async () => {
      await this.lockAsAdmin(actor);
      const by = { actor: identityOf(actor.principal), requestId: actor.requestId };
      if (!(await this.domains.remove(actor.tenantId, domain, by)))
        throw TenantErrors.domainNotFound();
      await this.record(actor, 'tenant.domain.remove', domain, {});
    });
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** A tenant admin (tenant routes) or a platform admin (setup routes, also checked by @PlatformAdmin). */
  private requireAdmin(actor: MembershipActor): void {
    const allowed = actor.user ? actor.user.role === 'admin' : actor.principal.isPlatformAdmin;
    if (!allowed) throw TenantErrors.tenantAdminRequired();
  }

  /**
   * Takes the tenant's membership lock and, for a tenant admin, checks again under it that they
   * are still an admin: a demotion that committed a moment ago is not outrun by a stale cache.
   */
  private async lockAsAdmin(actor: MembershipActor): Promise<void> {
    await this.members.lockTenant(actor.tenantId);
    await this.confirmAdmin(actor);
  }

  private async confirmAdmin(actor: MembershipActor): Promise<void> {
    if (!actor.user) return;
    const current = await this.members.find(actor.tenantId, actor.user.id);
    if (current?.role !== 'admin') throw TenantErrors.tenantAdminRequired();
  }

  private record(
    actor: MembershipActor,
    action: string,
    targetId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    const targetType = action.split('.')[1];
    return this.audit.record({
      tenantId: actor.tenantId,
      actorId: actor.user?.id ?? null,
      action,
      targetType,
      targetId,
      details: { ...details, ...(actor.user === null && { by_platform_admin: true }) },
    });
  }

  private forget(tenantId: string, member: Member): Promise<void> {
    return this.cache.forgetUser(tenantId, member.provider, member.subject);
  }
}

function identityOf(principal: Principal): string {
  return `${principal.provider}:${principal.subject}`;
}
