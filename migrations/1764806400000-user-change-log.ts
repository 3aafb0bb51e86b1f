import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change log of users, so that every serving process can keep cached users for minutes and
 * still drop a changed one within a second (TenantRegistryWatcher reads it once a second).
 *
 * Every UPDATE that changes a users row and every DELETE (including the cascade of a deleted
 * tenant) appends one row: the SHA-256 of the user's cache key
 * `tenant:{tenant_id}:user:{auth_provider}:{auth_subject}` and the writing transaction's id
 * (`xact`), which lets a reader find entries that commit late. A TRUNCATE of users appends one
 * entry of 64 `*`, which means "every user". The log has no tenant_id column and holds no tenant
 * data in clear; the runtime role may read it (it can read every tenant's users anyway, tenant by
 * tenant) but not write it. The trigger function is SECURITY DEFINER, owned by the migrating role,
 * with a fixed search_path and schema-qualified names (a temporary table of the caller's cannot
 * stand in for the log), and prunes entries older than an hour without waiting on locks.
 */
export class UserChangeLog1764806400000 implements MigrationInterface {
  name = 'UserChangeLog1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const schema = await currentSchema(queryRunner);
    await queryRunner.query(`
CREATE TABLE ${schema}.user_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
  user_key char(64) NOT NULL,
  changed_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX user_changes_xact_idx ON ${schema}.user_changes (xact);
CREATE INDEX user_changes_changed_at_idx ON ${schema}.user_changes (changed_at);

CREATE FUNCTION ${schema}.record_user_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO ${schema}.user_changes (user_key) VALUES (repeat('*', 64));
  ELSE
    INSERT INTO ${schema}.user_changes (user_key)
    VALUES (encode(sha256(convert_to(
      'tenant:' || OLD.tenant_id::text || ':user:' || OLD.auth_provider || ':' || OLD.auth_subject,
      'UTF8')), 'hex'));
  END IF;
  DELETE FROM ${schema}.user_changes WHERE id IN (
    SELECT id FROM ${schema}.user_changes
     WHERE changed_at < now() - interval '1 hour'
     ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED);
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION ${schema}.record_user_change() FROM PUBLIC;

CREATE TRIGGER users_changed AFTER UPDATE ON ${schema}.users
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ${schema}.record_user_change();
CREATE TRIGGER users_deleted AFTER DELETE ON ${schema}.users
  FOR EACH ROW EXECUTE FUNCTION ${schema}.record_user_change();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON ${schema}.users
  FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.record_user_change();

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('GRANT SELECT ON ${schema}.user_changes TO %I', runtime_role);
END
$grants$;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const schema = await currentSchema(queryRunner);
    await queryRunner.query(`
DROP TRIGGER IF EXISTS users_truncated ON ${schema}.users;
DROP TRIGGER IF EXISTS users_deleted ON ${schema}.users;
DROP TRIGGER IF EXISTS users_changed ON ${schema}.users;
DROP FUNCTION IF EXISTS ${schema}.record_user_change();
DROP TABLE IF EXISTS ${schema}.user_changes;`);
  }
}

/** The migrating session's schema, as a quoted identifier. */
async function currentSchema(queryRunner: QueryRunner): Promise<string> {
  const [row] = (await queryRunner.query('SELECT quote_ident(current_schema()) AS schema')) as {
    schema: string;
  }[];
  return row.schema;
}
