import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { canonicalEmail } from 'src/common/email';
import { normalizeSlug } from 'src/common/slug';
import { TenantCache } from 'src/core/cache/tenant-cache';
import { BoardsConfig } from 'src/core/config/boards-config';
import { TenantDatabases } from 'src/core/database/tenant-databases';
import { TenantTransactions } from 'src/core/database/tenant-transactions';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { AuditService } from 'src/modules/audit/audit.service';
import type { QuarantinedSlugListResponse } from './dto/quarantined-slug.response';
import { InvitationsRepository } from './invitations.repository';
import type { CreateTenantDto } from './dto/create-tenant.dto';
import type { ListTenantsQuery } from './dto/list-tenants.query';
import type { SetupStatusResponse } from './dto/setup-status.response';
import {
  toTenantResponse,
  type TenantPageResponse,
  type TenantResponse,
} from './dto/tenant.response';
import type { UpdateTenantDto } from './dto/update-tenant.dto';
import { TenantSeeder } from './tenant-seeder.service';
import {
  QUOTA_NAMES,
  type TenantQuotaOverrides,
  type TenantStatus,
} from 'src/core/context/records';
import type { Tenant } from './tenant.entity';
import type { TenantQuotasDto } from './dto/tenant-quotas.dto';
import { TenantErrors } from './tenants.errors';
import { TenantsRepository, type NewTenant, type RegistryActor } from './tenants.repository';

export type TenantAction = 'approve' | 'reject' | 'suspend' | 'activate';

/** API field names of the tenant's properties, for audit details. */
const FIELD_NAMES: Record<string, string> = {
  allowedIssuers: 'allowed_issuers',
  claimsAdmit: 'claims_admit',
};

/** Which statuses each action applies to, and the status it leads to. */
export const TENANT_TRANSITIONS: Record<
  TenantAction,
  { from: readonly TenantStatus[]; to: TenantStatus; verb: string }
> = {
  approve: { from: ['pending_approval'], to: 'active', verb: 'approved' },
  reject: { from: ['pending_approval'], to: 'rejected', verb: 'rejected' },
  suspend: { from: ['active'], to: 'suspended', verb: 'suspended' },
  activate: { from: ['suspended', 'rejected'], to: 'active', verb: 'activated' },
};

/** What creating a tenant needs besides its row. */
export interface TenantSeed {
  /** Make this identity the tenant's first admin user (the registrant). */
  readonly admin?: {
    provider: string;
    subject: string;
    email: string | null;
    displayName: string | null;
  };
  /** Name the tenant's first admin by e-mail: an admin invitation (POST /api/setup/tenant). */
  readonly adminEmail?: string;
  /**
   * Self-service registration: a quarantined slug is only "not available" (the caller must not
   * learn that a tenant of that name was deleted, nor when).
   */
  readonly selfService?: boolean;
  readonly includeSampleData: boolean;
  readonly auditAction: string;
  readonly auditDetails?: Record<string, unknown>;
}

/**
 * Tenant management for platform admins (the /api/setup routes) and the shared creation path
 * used by self-service registration. Every change writes its audit event in the same transaction.
 */
@Injectable()
export class TenantAdminService {
  private readonly logger = new Logger('TenantAdmin');

  constructor(
    private readonly config: BoardsConfig,
    private readonly tenants: TenantsRepository,
    private readonly transactions: TenantTransactions,
    private readonly seeder: TenantSeeder,
    private readonly audit: AuditService,
    private readonly invitations: InvitationsRepository,
    private readonly cache: TenantCache,
    private readonly databases: TenantDatabases,
  ) {}

  /** The tenant databases' life (database per tenant), for the CLI's cleanup. */
  get tenantDatabases(): TenantDatabases {
    return this.databases;
  }

  /** Public and side-effect free. */
  async status(): Promise<SetupStatusResponse> {
    const { multiTenantMode, defaultTenantSlug } = this.config.tenancy;
    const [count, defaultTenant] = await Promise.all([
      this.tenants.count(),
      this.tenants.findBySlug(defaultTenantSlug),
    ]);
    const recommendations: string[] = [];
    const { auth, observability } = this.config;
    if (auth.providers.includes('none')) {
      recommendations.push(
        'Authentication is off (BOARDS_AUTH_PROVIDER=none): use jwt or oidc outside development.',
      );
    }
    if (auth.platformAdminSubjects.length === 0 && !auth.platformAdminRole) {
      recommendations.push(
        'No platform admin is configured: set BOARDS_PLATFORM_ADMIN_SUBJECTS or BOARDS_PLATFORM_ADMIN_ROLE.',
      );
    }
    if (multiTenantMode && count === 0)
      recommendations.push('Create the first tenant: POST /api/setup/tenant.');
    if (!this.config.redisUrl) {
      recommendations.push(
        'Set BOARDS_REDIS_URL so rate limits and caches are shared by all replicas.',
      );
    }
    if (!observability.auditLogging)
      recommendations.push(
        'Enable BOARDS_ENABLE_AUDIT_LOGGING to record tenant and board changes.',
      );
    const usable = multiTenantMode ? count > 0 : defaultTenant !== null;
    return {
      setup_needed: !usable,
      has_default_tenant: defaultTenant !== null,
      default_tenant: defaultTenant ? { id: defaultTenant.id, slug: defaultTenant.slug } : null,
      multi_tenant_mode: multiTenantMode,
      auth_provider: auth.providers.join(','),
      recommendations,
    };
  }

  async create(dto: CreateTenantDto): Promise<TenantResponse> {
    const tenant = await this.withGeneratedSlug(dto.slug, dto.name, 'slug', (slug) =>
      this.createTenant(
        {
          id: randomUUID(),
          name: dto.name,
          slug,
          status: 'active',
          settings: dto.settings ?? {},
          allowedIssuers: dto.allowed_issuers ?? [],
          claimsAdmit: true,
          registeredBy: null,
        },
        {
          includeSampleData: dto.include_sample_data ?? false,
          auditAction: 'tenant.create',
          adminEmail: dto.admin_email,
        },
      ),
    );
    return toTenantResponse(tenant);
  }

  /**
   * Runs `create` with the given slug, or with one generated from `name`; a generated slug taken
   * by a concurrent creation is generated again (up to three tries) instead of answering 409 for
   * a slug the caller never chose.
   */
  async withGeneratedSlug<T>(
    given: string | undefined,
    name: string,
    field: string,
    create: (slug: string) => Promise<T>,
  ): Promise<T> {
    if (given !== undefined) return create(given);
    for (let attempt = 1; ; attempt++) {
      const slug = await this.availableSlug(name, field);
      try {
        return await create(slug);
      } catch (err) {
        const taken = err instanceof DomainError && err.code === ErrorCode.Conflict;
        if (!taken || attempt >= 3) throw err;
      }
    }
  }

  /**
   * Inserts the tenant, its first admin (or the invitation naming it) and sample data, and the
   * audit event, in one transaction bound to the new tenant. A reserved slug, one quarantined
   * after a deletion, or one taken meanwhile is 409. With a database per tenant the same happens
   * in the steps of TenantDatabases (createInOwnDatabase).
   */
  async createTenant(tenant: NewTenant, seed: TenantSeed): Promise<Tenant> {
    await this.assertSlugAvailable(tenant.slug, seed.selfService ?? false);
    try {
      const stored = this.databases.enabled
        ? await this.createInOwnDatabase(tenant, seed)
        : await this.transactions.run(tenant.id, async () => {
            const row = await this.tenants.insert(tenant);
            await this.seed(tenant, seed);
            return row;
          });
      // The slug may have been remembered as unknown by an earlier request.
      await this.cache.forgetTenant(tenant.slug);
      return stored;
    } catch (err) {
      const driverError = (err as { driverError?: { code?: string; detail?: string } }).driverError;
      if (driverError?.code === '23505') throw TenantErrors.slugTaken(tenant.slug);
      // The quarantine trigger, for a deletion that committed after the check above.
      if (driverError?.code === 'BQ001') {
        throw seed.selfService
          ? TenantErrors.slugUnavailable(tenant.slug)
          : TenantErrors.slugQuarantined(tenant.slug, driverError.detail ?? 'its quarantine ends');
      }
      throw err;
    }
  }

  /**
   * BOARDS_TENANT_ISOLATION=database: reserves the slug (registry row in `provisioning`, with
   * the seed recorded), creates and migrates the tenant's database, seeds it, then gives the
   * registry row its status. A failure after the reservation leaves the tenant in
   * `provisioning` with the reason recorded, answered as 503; `boards tenant cleanup` (or
   * `resumeProvisioning`) completes it with the same seed.
   */
  private async createInOwnDatabase(tenant: NewTenant, seed: TenantSeed): Promise<Tenant> {
    await this.databases.reserve(tenant, { status: tenant.status, seed });
    await this.finishProvisioning(tenant.id, tenant.status, seed);
    const stored = await this.tenants.findById(tenant.id);
    if (!stored) throw TenantErrors.notFound();
    return stored;
  }

  /** Steps 2–4 of provisioning (see TenantDatabases), each safe to repeat. */
  private async finishProvisioning(id: string, status: TenantStatus, seed: TenantSeed) {
    try {
      await this.databases.createDatabase(id, 'provisioning');
      const tenant = await this.tenants.findById(id);
      if (!tenant) throw TenantErrors.notFound();
      await this.transactions.run(id, async () => {
        if (await this.databases.seeded(id)) return;
        await this.seed({ ...tenant, status, allowedIssuers: tenant.allowedIssuers ?? [] }, seed);
        await this.databases.markSeeded(id, status);
      });
      await this.databases.activate(id, status);
    } catch (err) {
      await this.databases.recordFailure(id, err);
      this.logger.error(
        { action: 'tenant.provision', tenant_id: id },
        `provisioning the database of tenant ${id} failed; boards tenant cleanup retries it: ${(err as Error).message}`,
      );
      if (err instanceof DomainError) throw err;
      throw TenantErrors.databaseNotReady();
    }
  }

  /**
   * Completes the provisioning of a tenant left in `provisioning` (a crash, a database server
   * that was down), with the seed recorded when it began. Returns false when there was none.
   */
  async resumeProvisioning(id: string): Promise<boolean> {
    const [record] = await this.databases.records({ tenant: id });
    // A move that stopped half-way is undone: the tenant stays where it was.
    if (record?.registered && (record.seed as { move?: string } | null)?.move) {
      return this.databases.abandonMove(id);
    }
    if (!record?.registered || record.state !== 'provisioning') return false;
    const { status, seed } = (record.seed ?? {}) as { status?: TenantStatus; seed?: TenantSeed };
    const tenant = await this.tenants.findById(id);
    if (!tenant) return false;
    await this.finishProvisioning(
      id,
      status ?? 'active',
      seed ?? { includeSampleData: false, auditAction: 'tenant.create' },
    );
    await this.cache.forgetTenant(tenant.slug);
    return true;
  }

  /** The new tenant's first rows and audit event, in its open transaction. */
  private async seed(
    tenant: Pick<NewTenant, 'id' | 'slug' | 'status' | 'allowedIssuers'>,
    seed: TenantSeed,
  ): Promise<void> {
    let ownerId: string | undefined;
    if (seed.admin) ownerId = await this.seeder.adminUser(tenant.id, seed.admin);
    if (seed.adminEmail) {
      await this.invitations.create({
        tenantId: tenant.id,
        email: canonicalEmail(seed.adminEmail),
        role: 'admin',
        invitedBy: null,
        ttlDays: this.config.tenancy.invitationTtlDays,
      });
    }
    if (seed.includeSampleData) {
      ownerId ??= await this.seeder.systemUser(tenant.id);
      await this.seeder.sampleData(tenant.id, ownerId);
    }
    await this.audit.record({
      tenantId: tenant.id,
      actorId: null,
      action: seed.auditAction,
      targetType: 'tenant',
      targetId: tenant.id,
      details: {
        slug: tenant.slug,
        status: tenant.status,
        sample_data: seed.includeSampleData,
        ...(seed.adminEmail && { admin_email: canonicalEmail(seed.adminEmail) }),
        ...(tenant.allowedIssuers.length > 0 && { allowed_issuers: tenant.allowedIssuers }),
        ...seed.auditDetails,
      },
    });
  }

  /** 409 unless `slug` may be given to a new tenant: not reserved, quarantined or taken. */
  private async assertSlugAvailable(slug: string, selfService: boolean): Promise<void> {
    if (this.config.tenancy.reservedSlugs.has(slug)) throw TenantErrors.slugReserved(slug);
    const until = await this.tenants.quarantinedUntil(slug);
    if (until) {
      throw selfService
        ? TenantErrors.slugUnavailable(slug)
        : TenantErrors.slugQuarantined(slug, until.toISOString());
    }
    if ((await this.tenants.takenSlugs([slug])).size > 0) throw TenantErrors.slugTaken(slug);
  }

  async list(query: ListTenantsQuery): Promise<TenantPageResponse> {
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const { items, total } = await this.tenants.list({ status: query.status, limit, offset });
    return { items: items.map(toTenantResponse), total_count: total, limit, offset };
  }

  async get(id: string): Promise<TenantResponse> {
    return toTenantResponse(await this.existing(id));
  }

  async update(id: string, dto: UpdateTenantDto, by: RegistryActor): Promise<TenantResponse> {
    const before = await this.existing(id);
    const changes: {
      name?: string;
      settings?: Record<string, unknown>;
      allowedIssuers?: string[];
      claimsAdmit?: boolean;
      quotas?: TenantQuotaOverrides;
    } = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.settings !== undefined) changes.settings = dto.settings;
    if (dto.allowed_issuers !== undefined)
      changes.allowedIssuers = [...new Set(dto.allowed_issuers)];
    if (dto.claims_admit !== undefined) changes.claimsAdmit = dto.claims_admit;
    if (dto.quotas !== undefined) changes.quotas = quotaOverrides(dto.quotas);
    const updated = await this.transactions.run(id, async () => {
      const tenant = await this.tenants.update(id, changes, by);
      await this.audit.record({
        tenantId: id,
        actorId: null,
        action: 'tenant.update',
        targetType: 'tenant',
        targetId: id,
        details: {
          fields: Object.keys(changes).map((field) => FIELD_NAMES[field] ?? field),
          ...(changes.allowedIssuers && { allowed_issuers: changes.allowedIssuers }),
          ...(changes.claimsAdmit !== undefined && { claims_admit: changes.claimsAdmit }),
          ...(changes.quotas && { quotas: changes.quotas }),
        },
      });
      return tenant;
    });
    await this.cache.forgetTenant(before.slug);
    return toTenantResponse(updated ?? before);
  }

  /** Deletes the tenant and every row it owns in one transaction. The default tenant is kept in single-tenant mode. */
  async remove(id: string, by: RegistryActor): Promise<void> {
    const tenant = await this.existing(id);
    if (
      !this.config.tenancy.multiTenantMode &&
      tenant.slug === this.config.tenancy.defaultTenantSlug
    ) {
      throw TenantErrors.defaultTenantProtected();
    }
    // The registry row first (with a database per tenant, in the control database only: the
    // tenant's own database may be down), then the tenant's database.
    await this.transactions.runRegistry(id, () =>
      this.tenants.delete(id, this.config.tenancy.deletedSlugQuarantineDays, by),
    );
    await this.cache.forgetTenant(tenant.slug);
    if (this.databases.enabled) {
      const { error } = await this.databases.dropDatabase(id);
      if (error) {
        this.logger.error(
          { action: 'tenant.delete', tenant_id: id, tenant_slug: tenant.slug },
          `tenant ${tenant.slug} is deleted but its database was not dropped (boards tenant cleanup retries): ${error}`,
        );
      }
    }
    // The tenant's own audit trail went with it; the platform log keeps the record.
    this.logger.log(
      { action: 'tenant.delete', tenant_id: id, tenant_slug: tenant.slug },
      `deleted tenant ${tenant.slug}; its slug is quarantined for ${this.config.tenancy.deletedSlugQuarantineDays} days`,
    );
  }

  async listQuarantine(): Promise<QuarantinedSlugListResponse> {
    const items = await this.tenants.listQuarantine();
    return {
      items: items.map((item) => ({
        slug: item.slug,
        former_tenant_id: item.formerTenantId,
        deleted_at: item.deletedAt.toISOString(),
        until: item.until.toISOString(),
      })),
    };
  }

  /** Ends a slug's quarantine before its time (the platform admin's explicit decision). */
  async releaseQuarantine(slug: string, by: RegistryActor): Promise<void> {
    if (!(await this.tenants.releaseQuarantine(slug, by))) throw TenantErrors.quarantineNotFound();
    await this.cache.forgetTenant(slug);
    this.logger.log({ action: 'tenant.slug.release', tenant_slug: slug }, `released slug ${slug}`);
  }

  async act(id: string, action: TenantAction, by: RegistryActor): Promise<TenantResponse> {
    const tenant = await this.existing(id);
    const transition = TENANT_TRANSITIONS[action];
    const moved = await this.transactions.run(id, async () => {
      if (!(await this.tenants.transition(id, transition.from, transition.to, by))) return false;
      await this.audit.record({
        tenantId: id,
        actorId: null,
        action: `tenant.${action}`,
        targetType: 'tenant',
        targetId: id,
        details: { from: tenant.status, to: transition.to },
      });
      return true;
    });
    if (!moved) throw TenantErrors.invalidTransition(tenant.status, transition.verb);
    await this.cache.forgetTenant(tenant.slug);
    return this.get(id);
  }

  /** A free slug made from `name`: the name's slug, else with -2, -3, … appended. */
  async availableSlug(name: string, field = 'slug'): Promise<string> {
    const base = normalizeSlug(name);
    if (!base) throw TenantErrors.noSlugFromName(field);
    const stem = base.slice(0, 45).replace(/-+$/, '');
    const candidates = [base, ...Array.from({ length: 20 }, (_, i) => `${stem}-${i + 2}`)];
    const taken = await this.tenants.takenSlugs(candidates);
    const free = candidates.find(
      (candidate) => !taken.has(candidate) && !this.config.tenancy.reservedSlugs.has(candidate),
    );
    return free ?? `${stem}-${randomUUID().slice(0, 4)}`;
  }

  private async existing(id: string): Promise<Tenant> {
    const tenant = await this.tenants.findById(id);
    if (!tenant) throw TenantErrors.notFound();
    return tenant;
  }
}

/** The overrides a platform admin sent, without the quotas left out. */
function quotaOverrides(dto: TenantQuotasDto): TenantQuotaOverrides {
  const overrides: TenantQuotaOverrides = {};
  for (const name of QUOTA_NAMES) {
    const value = dto[name];
    if (value !== undefined && value !== null) overrides[name] = value;
  }
  return overrides;
}
