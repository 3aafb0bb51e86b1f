import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The runtime role no longer changes the registry directly: a runtime role that could
 * `DELETE FROM tenants` with no tenant set would cascade every row of that tenant away past
 * row-level security. Each registry write the API needs is a SECURITY DEFINER function (owned by
 * the migrating role, fixed search_path, schema-qualified names, EXECUTE for the runtime role
 * only) that does exactly that one thing and records it in `platform_audit_events`:
 *
 * - boards_delete_tenant(tenant, actor, request_id, quarantine_days): the tenant and everything it
 *   owns (its slug quarantined by the existing trigger);
 * - boards_update_tenant(tenant, name, settings, allowed_issuers, claims_admit, actor, request_id):
 *   NULL leaves a field as it is;
 * - boards_transition_tenant(tenant, from[], to, actor, request_id): a status change, only from
 *   the listed statuses;
 * - boards_remove_tenant_domain(tenant, domain, actor, request_id);
 * - boards_release_slug(slug, actor, request_id): ends a quarantine early.
 *
 * The four functions that name a tenant run only inside that tenant's own transaction (its
 * `app.tenant_id` set): anything else is refused with SQLSTATE 42501, so a runtime session bound
 * to one tenant cannot delete or change another. The quarantine is clamped to 0–3650 days.
 *
 * The runtime role keeps SELECT and INSERT on tenants (registration, creation) and on
 * tenant_domains, SELECT on slug_quarantine and platform_audit_events; it loses UPDATE and DELETE
 * on tenants, DELETE on tenant_domains and slug_quarantine. The schema catalog test checks this.
 */
export class RegistryWriteFunctions1765152000000 implements MigrationInterface {
  name = 'RegistryWriteFunctions1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
CREATE TABLE ${s}.platform_audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action varchar(100) NOT NULL,
  tenant uuid,
  tenant_slug varchar(50),
  actor varchar(400),
  request_id varchar(128),
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX platform_audit_events_tenant_idx ON ${s}.platform_audit_events (tenant, created_at DESC);

CREATE FUNCTION ${s}.boards_delete_tenant(p_tenant uuid, p_actor text, p_request_id text, p_quarantine_days integer)
  RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  gone_slug text;
BEGIN
  IF p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'registry write outside the tenant''s own transaction' USING ERRCODE = '42501';
  END IF;
  p_quarantine_days := least(greatest(coalesce(p_quarantine_days, 0), 0), 3650);
  PERFORM set_config('boards.slug_quarantine_days', p_quarantine_days::text, true);
  DELETE FROM ${s}.tenants WHERE id = p_tenant RETURNING slug INTO gone_slug;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.platform_audit_events (action, tenant, tenant_slug, actor, request_id, details)
  VALUES ('tenant.delete', p_tenant, gone_slug, p_actor, p_request_id,
          jsonb_build_object('quarantine_days', p_quarantine_days));
  RETURN true;
END
$fn$;

CREATE FUNCTION ${s}.boards_update_tenant(p_tenant uuid, p_name text, p_settings jsonb,
    p_allowed_issuers text[], p_claims_admit boolean, p_actor text, p_request_id text)
  RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  changed_slug text;
BEGIN
  IF p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'registry write outside the tenant''s own transaction' USING ERRCODE = '42501';
  END IF;
  UPDATE ${s}.tenants
     SET name = COALESCE(p_name, name),
         settings = COALESCE(p_settings, settings),
         allowed_issuers = COALESCE(p_allowed_issuers, allowed_issuers),
         claims_admit = COALESCE(p_claims_admit, claims_admit),
         updated_at = now()
   WHERE id = p_tenant
  RETURNING slug INTO changed_slug;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.platform_audit_events (action, tenant, tenant_slug, actor, request_id, details)
  VALUES ('tenant.update', p_tenant, changed_slug, p_actor, p_request_id, jsonb_strip_nulls(jsonb_build_object(
    'name', p_name IS NOT NULL, 'settings', p_settings IS NOT NULL,
    'allowed_issuers', p_allowed_issuers, 'claims_admit', p_claims_admit)));
  RETURN true;
END
$fn$;

CREATE FUNCTION ${s}.boards_transition_tenant(p_tenant uuid, p_from text[], p_to text, p_actor text,
    p_request_id text)
  RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  before record;
BEGIN
  IF p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'registry write outside the tenant''s own transaction' USING ERRCODE = '42501';
  END IF;
  SELECT slug, status INTO before FROM ${s}.tenants WHERE id = p_tenant FOR UPDATE;
  IF NOT FOUND OR NOT coalesce(before.status = ANY(p_from), false) THEN
    RETURN false;
  END IF;
  UPDATE ${s}.tenants SET status = p_to, updated_at = now() WHERE id = p_tenant;
  INSERT INTO ${s}.platform_audit_events (action, tenant, tenant_slug, actor, request_id, details)
  VALUES ('tenant.status', p_tenant, before.slug, p_actor, p_request_id,
          jsonb_build_object('from', before.status, 'to', p_to));
  RETURN true;
END
$fn$;

CREATE FUNCTION ${s}.boards_remove_tenant_domain(p_tenant uuid, p_domain text, p_actor text,
    p_request_id text)
  RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
    RAISE EXCEPTION 'registry write outside the tenant''s own transaction' USING ERRCODE = '42501';
  END IF;
  DELETE FROM ${s}.tenant_domains WHERE tenant = p_tenant AND domain = p_domain;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.platform_audit_events (action, tenant, actor, request_id, details)
  VALUES ('tenant.domain.remove', p_tenant, p_actor, p_request_id, jsonb_build_object('domain', p_domain));
  RETURN true;
END
$fn$;

CREATE FUNCTION ${s}.boards_release_slug(p_slug text, p_actor text, p_request_id text)
  RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  former uuid;
BEGIN
  DELETE FROM ${s}.slug_quarantine WHERE slug = p_slug AND until > now() RETURNING former_tenant INTO former;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.platform_audit_events (action, tenant, tenant_slug, actor, request_id)
  VALUES ('tenant.slug.release', former, p_slug, p_actor, p_request_id);
  RETURN true;
END
$fn$;

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
  fn text;
BEGIN
  EXECUTE format('REVOKE UPDATE, DELETE ON ${s}.tenants FROM %I', runtime_role);
  EXECUTE format('REVOKE UPDATE (name, status, settings, updated_at, allowed_issuers, claims_admit) ON ${s}.tenants FROM %I', runtime_role);
  EXECUTE format('REVOKE DELETE ON ${s}.tenant_domains, ${s}.slug_quarantine FROM %I', runtime_role);
  EXECUTE format('GRANT SELECT ON ${s}.platform_audit_events TO %I', runtime_role);
  FOREACH fn IN ARRAY ARRAY[
    'boards_delete_tenant(uuid, text, text, integer)',
    'boards_update_tenant(uuid, text, jsonb, text[], boolean, text, text)',
    'boards_transition_tenant(uuid, text[], text, text, text)',
    'boards_remove_tenant_domain(uuid, text, text, text)',
    'boards_release_slug(text, text, text)'
  ] LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION ${s}.%s FROM PUBLIC', fn);
    EXECUTE format('GRANT EXECUTE ON FUNCTION ${s}.%s TO %I', fn, runtime_role);
  END LOOP;
END
$grants$;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
DROP FUNCTION IF EXISTS ${s}.boards_release_slug(text, text, text);
DROP FUNCTION IF EXISTS ${s}.boards_remove_tenant_domain(uuid, text, text, text);
DROP FUNCTION IF EXISTS ${s}.boards_transition_tenant(uuid, text[], text, text, text);
DROP FUNCTION IF EXISTS ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, text, text);
DROP FUNCTION IF EXISTS ${s}.boards_delete_tenant(uuid, text, text, integer);
DROP TABLE IF EXISTS ${s}.platform_audit_events;
DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('GRANT DELETE ON ${s}.tenants, ${s}.tenant_domains, ${s}.slug_quarantine TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (name, status, settings, updated_at, allowed_issuers, claims_admit) ON ${s}.tenants TO %I', runtime_role);
END
$grants$;`);
  }
}

/** The migrating session's schema, as a quoted identifier. */
async function currentSchema(queryRunner: QueryRunner): Promise<string> {
  const [row] = (await queryRunner.query('SELECT quote_ident(current_schema()) AS schema')) as {
    schema: string;
  }[];
  return row.schema;
}
