import { Injectable } from '@nestjs/common';
import { RegistryRepository } from 'src/core/database/registry.repository';

export interface TenantDomain {
  readonly domain: string;
  readonly addedBy: string | null;
  readonly createdAt: Date;
}

interface DomainRow {
  domain: string;
  added_by: string | null;
  created_at: Date;
}

/**
 * A tenant's own e-mail domains (registry table `tenant_domains`: no row-level security, every
 * query names the tenant). A domain is held by at most one tenant (its primary key).
 */
@Injectable()
export class TenantDomainsRepository extends RegistryRepository {
  async holds(tenantId: string, domain: string): Promise<boolean> {
    const [row] = (await this.sql(
      'SELECT EXISTS (SELECT 1 FROM tenant_domains WHERE tenant = $1::uuid AND domain = $2) AS held',
      [tenantId, domain],
    )) as { held: boolean }[];
    return row.held;
  }

  async list(tenantId: string): Promise<TenantDomain[]> {
    const rows = (await this.sql(
      'SELECT domain, added_by, created_at FROM tenant_domains WHERE tenant = $1::uuid ORDER BY domain',
      [tenantId],
    )) as DomainRow[];
    return rows.map(toDomain);
  }

  /**
   * Adds the domain; `held` when this tenant already has it, `taken` when another tenant does.
   */
  async add(
    tenantId: string,
    domain: string,
    addedBy: string,
  ): Promise<{ added: TenantDomain } | 'held' | 'taken'> {
    const rows = (await this.sql(
      `INSERT INTO tenant_domains (domain, tenant, added_by) VALUES ($1, $2::uuid, $3)
       ON CONFLICT (domain) DO NOTHING RETURNING domain, added_by, created_at`,
      [domain, tenantId, addedBy],
    )) as DomainRow[];
    if (rows[0]) return { added: toDomain(rows[0]) };
    return (await this.holds(tenantId, domain)) ? 'held' : 'taken';
  }

  /** Through boards_remove_tenant_domain: the runtime role may not DELETE registry rows itself. */
  async remove(
    tenantId: string,
    domain: string,
    by: { actor: string; requestId: string | null },
  ): Promise<boolean> {
    const [row] = (await this.sql(
      'SELECT boards_remove_tenant_domain($1::uuid, $2, $3, $4) AS done',
      [tenantId, domain, by.actor, by.requestId],
    )) as { done: boolean }[];
    return row.done;
  }
}

function toDomain(row: DomainRow): TenantDomain {
  return { domain: row.domain, addedBy: row.added_by, createdAt: row.created_at };
}
