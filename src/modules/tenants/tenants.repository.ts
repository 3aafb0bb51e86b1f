import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Tenant } from './tenant.entity';

/**
 * The tenant registry. `tenants` is not tenant-owned (no RLS): every request resolves against it
 * and platform admins manage it, so it is read with the runtime data source directly.
 */
@Injectable()
export class TenantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  findBySlug(slug: string): Promise<Tenant | null> {
    return this.dataSource.getRepository(Tenant).findOneBy({ slug });
  }

  findById(id: string): Promise<Tenant | null> {
    return this.dataSource.getRepository(Tenant).findOneBy({ id });
  }

  async count(): Promise<number> {
    const [row] = (await this.dataSource.query('SELECT count(*)::int AS count FROM tenants')) as {
      count: number;
    }[];
    return row.count;
  }

  /**
   * Creates the tenant unless one with the slug exists, and returns the stored row. Safe when
   * several replicas start at once (ON CONFLICT DO NOTHING, then read).
   */
  async ensure(name: string, slug: string): Promise<{ tenant: Tenant; created: boolean }> {
    const inserted = (await this.dataSource.query(
      `INSERT INTO tenants (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING RETURNING id`,
      [name, slug],
    )) as { id: string }[];
    const tenant = await this.findBySlug(slug);
    if (!tenant) throw new Error(`tenant ${slug} vanished right after it was ensured`);
    return { tenant, created: inserted.length > 0 };
  }
}
