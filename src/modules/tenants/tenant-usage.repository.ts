import { Injectable } from '@nestjs/common';
import { TenantScopedRepository } from 'src/core/database/tenant-scoped.repository';

/** What a tenant uses of its quotas (tenant_usage and the boards' counters). */
export interface TenantUsage {
  readonly boards: number;
  readonly storedBytes: number;
  /** The most generations on one board, and the most members on one board. */
  readonly fullestGenerations: number;
  readonly fullestMembers: number;
}

@Injectable()
export class TenantUsageRepository extends TenantScopedRepository {
  async usage(tenantId: string): Promise<TenantUsage> {
    const [row] = await this.aggregate<{
      boards: number;
      stored_bytes: string;
      fullest_generations: number;
      fullest_members: number;
    }>(
      tenantId,
      `SELECT coalesce(u.boards, 0) AS boards, coalesce(u.stored_bytes, 0)::text AS stored_bytes,
              coalesce((SELECT max(generation_count) FROM boards WHERE tenant_id = $1), 0) AS fullest_generations,
              coalesce((SELECT max(member_count) FROM boards WHERE tenant_id = $1), 0) AS fullest_members
         FROM (SELECT $1::uuid AS tenant_id) t
         LEFT JOIN tenant_usage u ON u.tenant_id = t.tenant_id`,
      [tenantId],
    );
    return {
      boards: row.boards,
      storedBytes: Number(row.stored_bytes),
      fullestGenerations: row.fullest_generations,
      fullestMembers: row.fullest_members,
    };
  }
}
