import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change log of users, so that every serving process can keep cached users for minutes and
 * still drop a changed one within a second (TenantRegistryWatcher reads it once a second).
 *
 * Every UPDATE that changes a users row and every DELETE (including the cascade of a deleted
 * tenant) appends one row holding only `sha256(cache key)`, the digest of the user's cache key
 * `tenant:{tenant_id}:user:{auth_provider}:{auth_subject}`. The log has no tenant_id and holds no
 * readable tenant data, so it needs no row-level security: the runtime role may read digests
 * across tenants, and nothing else. It cannot write the log; the trigger function is SECURITY
 * DEFINER (owned by the migrating role) and prunes entries older than an hour, far longer than
 * any cache lifetime.
 */
export class UserChangeLog1764806400000 implements MigrationInterface {
  name = 'UserChangeLog1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE TABLE user_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_key char(64) NOT NULL,
  changed_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX user_changes_changed_at_idx ON user_changes (changed_at);

CREATE FUNCTION record_user_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
  INSERT INTO user_changes (user_key)
  VALUES (encode(sha256(convert_to(
    'tenant:' || OLD.tenant_id::text || ':user:' || OLD.auth_provider || ':' || OLD.auth_subject,
    'UTF8')), 'hex'));
  DELETE FROM user_changes WHERE changed_at < now() - interval '1 hour';
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION record_user_change() FROM PUBLIC;

CREATE TRIGGER users_changed AFTER UPDATE ON users
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_user_change();
CREATE TRIGGER users_deleted AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION record_user_change();

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('GRANT SELECT ON user_changes TO %I', runtime_role);
END
$grants$;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
DROP TRIGGER IF EXISTS users_deleted ON users;
DROP TRIGGER IF EXISTS users_changed ON users;
DROP FUNCTION IF EXISTS record_user_change();
DROP TABLE IF EXISTS user_changes;`);
  }
}
