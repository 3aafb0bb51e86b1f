import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A database per tenant (BOARDS_TENANT_ISOLATION=database; DESIGN.md §2 "Isolation strategies"):
 *
 * - `tenants.status` gains `provisioning`: the registry row of a tenant whose database is being
 *   created, migrated and seeded. Such a tenant answers no request (it is not `active`), its slug
 *   is taken, and `boards tenant cleanup` finishes (or retries) what a crash interrupted.
 * - `tenants.status` gains `moving` too: a tenant being copied between the shared database and one
 *   of its own (`boards tenant move`); it answers reads, and its writes are refused (its
 *   transactions are READ ONLY) until the copy is verified and the switch made.
 * - `tenant_databases` (registry, in the control database): where each tenant's database is and
 *   how far its life has come — `provisioning` (with the seed still to be written, so a retry
 *   after a crash writes the same first admin), `ready`, or `dropping` (the registry row is gone
 *   and the database still has to be dropped). `location` is a URL a platform admin recorded for
 *   the tenant (another server), without credentials; null means the template's. The table has
 *   no foreign key to `tenants`: a `dropping` record outlives its tenant. The runtime role only
 *   reads it; the provisioning steps write it with the owner connection.
 *
 * In the shared layout the table stays empty. Every tenant database runs the same migrations, so
 * it has the table too, empty, and its `tenants` holds the one row its foreign keys need.
 */
export class TenantDatabases1765411200000 implements MigrationInterface {
  name = 'TenantDatabases1765411200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
ALTER TABLE ${s}.tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE ${s}.tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('active', 'pending_approval', 'suspended', 'rejected', 'provisioning', 'moving'));

CREATE TABLE ${s}.tenant_databases (
  tenant uuid PRIMARY KEY,
  slug varchar(50) NOT NULL,
  location text CHECK (location IS NULL OR location !~ '@'),
  state varchar(20) NOT NULL CHECK (state IN ('provisioning', 'ready', 'dropping')),
  seed jsonb,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX tenant_databases_state_idx ON ${s}.tenant_databases (state) WHERE state <> 'ready';

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('GRANT SELECT ON ${s}.tenant_databases TO %I', runtime_role);
END
$grants$;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
DROP TABLE IF EXISTS ${s}.tenant_databases;
ALTER TABLE ${s}.tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE ${s}.tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('active', 'pending_approval', 'suspended', 'rejected'));`);
  }
}

/** The migrating session's schema, as a quoted identifier. */
async function currentSchema(queryRunner: QueryRunner): Promise<string> {
  const [row] = (await queryRunner.query('SELECT quote_ident(current_schema()) AS schema')) as {
    schema: string;
  }[];
  return row.schema;
}
