import { Injectable } from '@nestjs/common';
import { RegistryRepository, type RegistrySession } from 'src/core/database/registry.repository';
import type { ReservedTenant } from 'src/core/database/tenant-databases';
import {
  sharedIssuers,
  sharedQuotas,
  sharedWord,
  TENANT_STATUSES,
  type TenantQuotaOverrides,
  type TenantRecord,
  type TenantStatus,
} from 'src/core/context/records';
import { Tenant } from './tenant.entity';

/** Who changes the registry, for platform_audit_events: `provider:subject` (or `cli`), request id. */
export interface RegistryActor {
  readonly actor: string;
  readonly requestId: string | null;
}

export interface QuarantinedSlug {
  readonly slug: string;
  readonly formerTenantId: string;
  readonly deletedAt: Date;
  readonly until: Date;
}

/** A tenant's registry row as created (with a database per tenant, TenantDatabases reserves it). */
export type NewTenant = ReservedTenant & { readonly status: TenantStatus };

/**
 * The tenant registry. `tenants` is not tenant-owned (no RLS): every request resolves against it
 * and platform admins manage it. Reads use the runtime data source; writes that must commit with
 * tenant rows (creation with sample data, deletion) run in that tenant's transaction.
 */
@Injectable()
export class TenantsRepository extends RegistryRepository {
  async findBySlug(slug: string): Promise<Tenant | null> {
    return (await this.registry(Tenant)).findOneBy({ slug });
  }

  /** What a request needs to know about a tenant: one indexed read, no entity hydration. */
  async findRecordBySlug(slug: string): Promise<TenantRecord | undefined> {
    const [row] = (await this.sql(
      'SELECT id, slug, name, status, allowed_issuers, claims_admit, quotas FROM tenants WHERE slug = $1',
      [slug],
    )) as (Pick<TenantRecord, 'id' | 'slug' | 'name' | 'status'> & {
      allowed_issuers: string[];
      claims_admit: boolean;
      quotas: TenantQuotaOverrides;
    })[];
    if (!row) return undefined;
    // Every key named in one literal: all cached records share one hidden class. A rest-and-spread
    // copy gave each record a hidden class of its own (about 300 bytes per cached tenant).
    // The cache keeps the slug it was asked for as its key; the record holds that same string.
    return {
      id: row.id,
      slug: row.slug === slug ? slug : row.slug,
      name: row.name,
      status: sharedWord(TENANT_STATUSES, row.status),
      allowedIssuers: sharedIssuers(row.allowed_issuers),
      claimsAdmit: row.claims_admit,
      quotas: sharedQuotas(row.quotas),
    };
  }

  async findById(id: string): Promise<Tenant | null> {
    return (await this.registry(Tenant)).findOneBy({ id });
  }

  async count(): Promise<number> {
    const [row] = (await this.sql('SELECT count(*)::int AS count FROM tenants')) as {
      count: number;
    }[];
    return row.count;
  }

  async list(query: {
    status?: TenantStatus;
    limit: number;
    offset: number;
  }): Promise<{ items: Tenant[]; total: number }> {
    const [items, total] = await (
      await this.registry(Tenant)
    ).findAndCount({
      where: query.status ? { status: query.status } : {},
      order: { createdAt: 'ASC', id: 'ASC' },
      take: query.limit,
      skip: query.offset,
    });
    return { items, total };
  }

  /** Slugs already taken among `candidates`: held by a tenant, or quarantined after a deletion. */
  async takenSlugs(candidates: string[]): Promise<Set<string>> {
    const rows = (await this.sql(
      `SELECT slug FROM tenants WHERE slug = ANY($1)
       UNION SELECT slug FROM slug_quarantine WHERE slug = ANY($1) AND until > now()`,
      [candidates],
    )) as {
      slug: string;
    }[];
    return new Set(rows.map((row) => row.slug));
  }

  /** When the quarantine of a deleted tenant's slug ends, if it is quarantined now. */
  async quarantinedUntil(slug: string): Promise<Date | undefined> {
    const [row] = (await this.sql(
      'SELECT until FROM slug_quarantine WHERE slug = $1 AND until > now()',
      [slug],
    )) as { until: Date }[];
    return row?.until;
  }

  async listQuarantine(): Promise<QuarantinedSlug[]> {
    const rows = (await this.sql(
      `SELECT slug, former_tenant::text AS former_tenant, deleted_at, until FROM slug_quarantine
        WHERE until > now() ORDER BY deleted_at DESC, slug LIMIT 1000`,
    )) as { slug: string; former_tenant: string; deleted_at: Date; until: Date }[];
    return rows.map((row) => ({
      slug: row.slug,
      formerTenantId: row.former_tenant,
      deletedAt: row.deleted_at,
      until: row.until,
    }));
  }

  /** Ends a slug's quarantine at once (boards_release_slug); false when it was not quarantined. */
  async releaseQuarantine(slug: string, by: RegistryActor): Promise<boolean> {
    return this.registryWrite('auto', 'boards_release_slug($1, $2, $3)', [
      slug,
      by.actor,
      by.requestId,
    ]);
  }

  /** Tenants registered by one identity (`provider:subject`), rejected ones not counted. */
  async countRegisteredBy(identity: string): Promise<number> {
    const [row] = (await this.sql(
      `SELECT count(*)::int AS count FROM tenants WHERE registered_by = $1 AND status <> 'rejected'`,
      [identity],
    )) as { count: number }[];
    return row.count;
  }

  /** Inserts the tenant inside its own open tenant transaction. */
  async insert(tenant: NewTenant): Promise<Tenant> {
    const repository = await this.registry(Tenant, 'transaction');
    return repository.save(
      repository.create({ ...tenant, allowedIssuers: [...tenant.allowedIssuers] }),
    );
  }

  /** In the tenant's open transaction. */
  /**
   * Changes name, settings, issuers or claim admission (boards_update_tenant: the runtime role
   * may not UPDATE the registry itself), in the tenant's open transaction.
   */
  async update(
    id: string,
    changes: Partial<
      Pick<Tenant, 'name' | 'settings' | 'allowedIssuers' | 'claimsAdmit' | 'quotas'>
    >,
    by: RegistryActor,
  ): Promise<Tenant | null> {
    if (Object.keys(changes).length > 0) {
      await this.registryWrite(
        'transaction',
        'boards_update_tenant($1::uuid, $2, $3::jsonb, $4::text[], $5, $6::jsonb, $7, $8)',
        [
          id,
          changes.name ?? null,
          changes.settings === undefined ? null : JSON.stringify(changes.settings),
          changes.allowedIssuers ?? null,
          changes.claimsAdmit ?? null,
          changes.quotas === undefined ? null : JSON.stringify(changes.quotas),
          by.actor,
          by.requestId,
        ],
      );
    }
    return (await this.registry(Tenant, 'transaction')).findOneBy({ id });
  }

  /**
   * Moves a tenant from one status to another (boards_transition_tenant), in its open
   * transaction; false when it is no longer in `from`.
   */
  async transition(
    id: string,
    from: readonly TenantStatus[],
    to: TenantStatus,
    by: RegistryActor,
  ): Promise<boolean> {
    return this.registryWrite(
      'transaction',
      'boards_transition_tenant($1::uuid, $2::text[], $3, $4, $5)',
      [id, [...from], to, by.actor, by.requestId],
    );
  }

  /**
   * Deletes the tenant (boards_delete_tenant); every row it owns goes with it (ON DELETE
   * CASCADE), in the caller's transaction, and a trigger quarantines its slug for
   * `quarantineDays`. The deletion is recorded in platform_audit_events.
   */
  async delete(id: string, quarantineDays: number, by: RegistryActor): Promise<boolean> {
    return this.registryWrite('transaction', 'boards_delete_tenant($1::uuid, $2, $3, $4::int)', [
      id,
      by.actor,
      by.requestId,
      quarantineDays,
    ]);
  }

  /** One call of a registry write function (migration 1765152000000), which answers a boolean. */
  private async registryWrite(
    session: RegistrySession,
    call: string,
    params: unknown[],
  ): Promise<boolean> {
    const [row] = await this.sql<{ done: boolean }[]>(`SELECT ${call} AS done`, params, session);
    return row.done;
  }

  /**
   * Creates the tenant unless one with the slug exists, and returns the stored row. Safe when
   * several replicas start at once (ON CONFLICT DO NOTHING, then read).
   */
  async ensure(name: string, slug: string): Promise<{ tenant: Tenant; created: boolean }> {
    const inserted = (await this.sql(
      `INSERT INTO tenants (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING RETURNING id`,
      [name, slug],
      'pool',
    )) as { id: string }[];
    const tenant = await this.findBySlug(slug);
    if (!tenant) throw new Error(`tenant ${slug} vanished right after it was ensured`);
    return { tenant, created: inserted.length > 0 };
  }

  /** Serializes registrations of one identity until the transaction ends. */
  async lockIdentity(identity: string): Promise<void> {
    await this.sql(
      'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))',
      [`register:${identity}`],
      'transaction',
    );
  }
}
