import type { DataSource } from 'typeorm';

/** One round trip on `dataSource` (the readiness probe's "is the database there?"). */
export async function pingDatabase(dataSource: DataSource): Promise<void> {
  await dataSource.query('SELECT 1');
}

/** The names of the migrations the database has applied (its `migrations` table). */
export async function appliedMigrations(dataSource: DataSource): Promise<Set<string>> {
  const rows = (await dataSource.query('SELECT name FROM migrations')) as { name: string }[];
  return new Set(rows.map((row) => row.name));
}
