import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { baseOptions } from 'src/core/database/data-sources';
import { insertBoard, insertUser } from 'test/factories/seed';

/** Helpers for tests of BOARDS_TENANT_ISOLATION=database below the HTTP layer. */

export interface SeededTenantDatabase {
  readonly slug: string;
  readonly id: string;
  readonly boardTitle: string;
}

export function newTenant(slug: string, boardTitle = `board of ${slug}`): SeededTenantDatabase {
  return { slug, id: randomUUID(), boardTitle };
}

/** `base` (a server URL) as `role`, with trust authentication, on `database`. */
export function roleUrl(base: string, role: string, database: string): string {
  const url = new URL(base);
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  // A template's placeholders stay readable (URL would percent-encode the braces).
  return url.toString().replace(/%7B(slug|id)%7D/g, '{$1}');
}

/** Runs `work` over `items`, `width` at a time. */
export async function inParallel<T>(
  width: number,
  items: readonly T[],
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/**
 * Fills a migrated tenant database, as its owner: the tenant's own row (the target of the
 * tenant_id foreign keys), a user and one board titled `boardTitle`.
 */
export async function seedTenantDatabase(
  ownerUrl: string,
  tenant: SeededTenantDatabase,
): Promise<void> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $2)`, [
      tenant.id,
      tenant.slug,
    ]);
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
    const session = {
      query: async (sql: string, params?: unknown[]) => (await client.query(sql, params)).rows,
    };
    const userId = await insertUser(session, 'u');
    await insertBoard(session, userId, tenant.boardTitle, tenant.slug);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

/** A plain runtime data source for a tenant database URL (what TenantDataSources opens). */
export function openTenantDataSource(url: string, poolSize: number): Promise<DataSource> {
  return new DataSource({
    ...baseOptions([], 'boards-tenant-test'),
    url,
    poolSize,
    extra: { connectionTimeoutMillis: 2_000 },
  }).initialize();
}
