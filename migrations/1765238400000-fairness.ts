import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fairness between tenants (DESIGN.md §5):
 *
 * - Search through an index: `pg_trgm` and `btree_gin` (both trusted extensions, so the owning
 *   role may create them), and GIN indexes on boards' title and description that lead with
 *   tenant_id, so `ILIKE '%…%'` is answered from the index within the tenant, not by reading all
 *   of its boards — once ILIKE is marked LEAKPROOF (see below), which row-level security needs.
 * - Sizes: `payload_bytes` on boards and generations, a stored generated column (the UTF-8 bytes
 *   of their text and of their JSON as text), read by the quota triggers and by the list routes'
 *   byte budget per page.
 * - Usage: `tenant_usage` (tenant-owned: boards, stored_bytes) and boards.generation_count and
 *   boards.member_count, kept by statement-level triggers (transition tables, so a bulk import or
 *   a cascade is one update, not one per row) on every path that writes: API, CLI, import, SQL.
 * - Quotas: the same triggers refuse a change that takes a counter over its limit, with SQLSTATE
 *   BQ100 and the quota's name as the message, when the transaction carries the limits in
 *   `boards.quota` (the API sets it for the request's tenant, see TenantTransactions). A change
 *   that does not grow a counter is never refused, so a tenant over a lowered quota can still
 *   delete and shrink. The counters are row-locked by the update, so concurrent creates at the
 *   edge run one after another and never overshoot.
 * - Per-tenant overrides: tenants.quotas (registry; written only by boards_update_tenant, which
 *   gains the p_quotas argument).
 */
export class Fairness1765238400000 implements MigrationInterface {
  name = 'Fairness1765238400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX boards_title_trgm_idx ON ${s}.boards USING gin (tenant_id, title gin_trgm_ops);
CREATE INDEX boards_description_trgm_idx ON ${s}.boards USING gin (tenant_id, description gin_trgm_ops);

-- Under row-level security the planner uses a search condition inside an index only when its
-- function is LEAKPROOF, and ILIKE's (texticlike) is not marked so, although it reveals nothing
-- about a row but its result. Only a superuser may mark it: done here when the migrating role is
-- one (the embedded database, development), otherwise by the database's superuser at install
-- (deploy/postgres-init.sql, k8s/cnpg-cluster.yaml); \`boards db check\` reports which.
DO $leakproof$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF;
  END IF;
END
$leakproof$;

ALTER TABLE ${s}.boards
  ADD COLUMN payload_bytes integer GENERATED ALWAYS AS (
    octet_length(title) + coalesce(octet_length(description), 0)
      + octet_length(settings::text) + octet_length(metadata::text)) STORED,
  ADD COLUMN generation_count integer NOT NULL DEFAULT 0,
  ADD COLUMN member_count integer NOT NULL DEFAULT 0;
ALTER TABLE ${s}.generations
  ADD COLUMN payload_bytes integer GENERATED ALWAYS AS (
    octet_length(generator_name) + octet_length(input_params::text)
      + octet_length(output_metadata::text) + coalesce(octet_length(storage_url), 0)
      + coalesce(octet_length(thumbnail_url), 0) + coalesce(octet_length(error_message), 0)) STORED;

ALTER TABLE ${s}.tenants
  ADD COLUMN quotas jsonb NOT NULL DEFAULT '{}'::jsonb
    CONSTRAINT tenants_quotas_check CHECK (jsonb_typeof(quotas) = 'object');

CREATE TABLE ${s}.tenant_usage (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES ${s}.tenants (id) ON DELETE CASCADE,
  boards integer NOT NULL DEFAULT 0,
  stored_bytes bigint NOT NULL DEFAULT 0,
  CONSTRAINT tenant_usage_pkey PRIMARY KEY (tenant_id)
);
ALTER TABLE ${s}.tenant_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${s}.tenant_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ${s}.tenant_usage
  USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Counts of what exists now, read past row-level security inside this transaction only.
ALTER TABLE ${s}.boards NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.generations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.board_members NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.tenant_usage NO FORCE ROW LEVEL SECURITY;
INSERT INTO ${s}.tenant_usage (tenant_id, boards, stored_bytes)
SELECT t.id,
       (SELECT count(*) FROM ${s}.boards b WHERE b.tenant_id = t.id),
       coalesce((SELECT sum(b.payload_bytes) FROM ${s}.boards b WHERE b.tenant_id = t.id), 0)
         + coalesce((SELECT sum(g.payload_bytes) FROM ${s}.generations g WHERE g.tenant_id = t.id), 0)
  FROM ${s}.tenants t;
UPDATE ${s}.boards b
   SET generation_count = (SELECT count(*) FROM ${s}.generations g
                            WHERE g.tenant_id = b.tenant_id AND g.board_id = b.id),
       member_count = (SELECT count(*) FROM ${s}.board_members m
                        WHERE m.tenant_id = b.tenant_id AND m.board_id = b.id);
ALTER TABLE ${s}.boards FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.generations FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.board_members FORCE ROW LEVEL SECURITY;
ALTER TABLE ${s}.tenant_usage FORCE ROW LEVEL SECURITY;

-- The limit of one quota for rows of p_tenant, from the transaction's boards.quota; NULL: none.
CREATE FUNCTION ${s}.boards_quota_limit(p_tenant uuid, p_name text) RETURNS bigint
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  setting text := NULLIF(current_setting('boards.quota', true), '');
  limits jsonb;
BEGIN
  IF setting IS NULL THEN
    RETURN NULL;
  END IF;
  limits := setting::jsonb;
  IF limits->>'tenant' IS DISTINCT FROM p_tenant::text THEN
    RETURN NULL;
  END IF;
  RETURN (limits->>p_name)::bigint;
END
$fn$;

CREATE FUNCTION ${s}.boards_quota_refuse(p_name text, p_limit bigint) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION '%', p_name USING ERRCODE = 'BQ100', DETAIL = p_limit::text;
END
$fn$;

-- The triggers keep a tenant's counters whoever writes its rows: a superuser's maintenance (which
-- row-level security does not stop) as well as the tenant's own transactions. The counters are
-- under row-level security too, so the functions below act as the rows' tenant (app.tenant_id,
-- transaction-local) and put the caller's setting back before they return. They run only as
-- triggers of rows already written, and touch only those rows' counters.
CREATE FUNCTION ${s}.boards_act_as_tenant(p_tenant uuid) RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  previous text := current_setting('app.tenant_id', true);
BEGIN
  IF previous IS DISTINCT FROM p_tenant::text THEN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
  END IF;
  RETURN previous;
END
$fn$;

CREATE FUNCTION ${s}.boards_restore_tenant(p_previous text) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF current_setting('app.tenant_id', true) IS DISTINCT FROM p_previous THEN
    PERFORM set_config('app.tenant_id', coalesce(p_previous, ''), true);
  END IF;
END
$fn$;

-- Adds (or takes away) a board counter; refuses growth past the quota named.
CREATE FUNCTION ${s}.boards_count_add(p_tenant uuid, p_board uuid, p_quota text, p_delta integer)
  RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  previous text := ${s}.boards_act_as_tenant(p_tenant);
  now_count integer;
  count_limit bigint;
BEGIN
  IF p_quota = 'generations_per_board' THEN
    UPDATE ${s}.boards SET generation_count = greatest(generation_count + p_delta, 0)
     WHERE tenant_id = p_tenant AND id = p_board RETURNING generation_count INTO now_count;
  ELSE
    UPDATE ${s}.boards SET member_count = greatest(member_count + p_delta, 0)
     WHERE tenant_id = p_tenant AND id = p_board RETURNING member_count INTO now_count;
  END IF;
  PERFORM ${s}.boards_restore_tenant(previous);
  IF p_delta > 0 THEN
    count_limit := ${s}.boards_quota_limit(p_tenant, p_quota);
    IF now_count > count_limit THEN
      PERFORM ${s}.boards_quota_refuse(p_quota, count_limit);
    END IF;
  END IF;
END
$fn$;

-- Adds (or takes away) boards and bytes of a tenant; refuses growth past a limit.
CREATE FUNCTION ${s}.boards_usage_add(p_tenant uuid, p_boards integer, p_bytes bigint) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  previous text;
  now_boards integer;
  now_bytes bigint;
  board_limit bigint;
  byte_limit bigint;
BEGIN
  IF p_boards = 0 AND p_bytes = 0 THEN
    RETURN;
  END IF;
  previous := ${s}.boards_act_as_tenant(p_tenant);
  -- Gone with its tenant (a cascade of the tenant's deletion): nothing to count.
  IF NOT EXISTS (SELECT 1 FROM ${s}.tenants WHERE id = p_tenant) THEN
    PERFORM ${s}.boards_restore_tenant(previous);
    RETURN;
  END IF;
  INSERT INTO ${s}.tenant_usage AS u (tenant_id, boards, stored_bytes)
  VALUES (p_tenant, greatest(p_boards, 0), greatest(p_bytes, 0))
  ON CONFLICT (tenant_id) DO UPDATE
    SET boards = greatest(u.boards + p_boards, 0), stored_bytes = greatest(u.stored_bytes + p_bytes, 0)
  RETURNING boards, stored_bytes INTO now_boards, now_bytes;
  PERFORM ${s}.boards_restore_tenant(previous);
  IF p_boards > 0 THEN
    board_limit := ${s}.boards_quota_limit(p_tenant, 'boards');
    IF now_boards > board_limit THEN
      PERFORM ${s}.boards_quota_refuse('boards', board_limit);
    END IF;
  END IF;
  IF p_bytes > 0 THEN
    byte_limit := ${s}.boards_quota_limit(p_tenant, 'stored_bytes');
    IF now_bytes > byte_limit THEN
      PERFORM ${s}.boards_quota_refuse('stored_bytes', byte_limit);
    END IF;
  END IF;
END
$fn$;

CREATE FUNCTION ${s}.boards_usage_on_boards() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  change record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR change IN SELECT tenant_id, count(*)::int AS n, sum(payload_bytes)::bigint AS bytes
                    FROM added GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, change.n, change.bytes);
    END LOOP;
  ELSIF TG_OP = 'DELETE' THEN
    FOR change IN SELECT tenant_id, count(*)::int AS n, sum(payload_bytes)::bigint AS bytes
                    FROM removed GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, -change.n, -change.bytes);
    END LOOP;
  ELSE
    FOR change IN SELECT tenant_id, sum(bytes)::bigint AS bytes FROM (
                    SELECT tenant_id, payload_bytes::bigint AS bytes FROM added
                    UNION ALL
                    SELECT tenant_id, -payload_bytes::bigint FROM removed) d
                   GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, 0, change.bytes);
    END LOOP;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE FUNCTION ${s}.boards_usage_on_generations() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  change record;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    FOR change IN SELECT tenant_id, sum(bytes)::bigint AS bytes FROM (
                    SELECT tenant_id, payload_bytes::bigint AS bytes FROM added
                    UNION ALL
                    SELECT tenant_id, -payload_bytes::bigint FROM removed) d
                   GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, 0, change.bytes);
    END LOOP;
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    FOR change IN SELECT tenant_id, board_id, count(*)::int AS n FROM added
                   GROUP BY tenant_id, board_id ORDER BY tenant_id, board_id LOOP
      PERFORM ${s}.boards_count_add(change.tenant_id, change.board_id, 'generations_per_board', change.n);
    END LOOP;
    FOR change IN SELECT tenant_id, sum(payload_bytes)::bigint AS bytes FROM added GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, 0, change.bytes);
    END LOOP;
  ELSE
    FOR change IN SELECT tenant_id, board_id, count(*)::int AS n FROM removed
                   GROUP BY tenant_id, board_id ORDER BY tenant_id, board_id LOOP
      PERFORM ${s}.boards_count_add(change.tenant_id, change.board_id, 'generations_per_board', -change.n);
    END LOOP;
    FOR change IN SELECT tenant_id, sum(payload_bytes)::bigint AS bytes FROM removed GROUP BY tenant_id LOOP
      PERFORM ${s}.boards_usage_add(change.tenant_id, 0, -change.bytes);
    END LOOP;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE FUNCTION ${s}.boards_usage_on_members() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  change record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR change IN SELECT tenant_id, board_id, count(*)::int AS n FROM added
                   GROUP BY tenant_id, board_id ORDER BY tenant_id, board_id LOOP
      PERFORM ${s}.boards_count_add(change.tenant_id, change.board_id, 'members_per_board', change.n);
    END LOOP;
  ELSE
    FOR change IN SELECT tenant_id, board_id, count(*)::int AS n FROM removed
                   GROUP BY tenant_id, board_id ORDER BY tenant_id, board_id LOOP
      PERFORM ${s}.boards_count_add(change.tenant_id, change.board_id, 'members_per_board', -change.n);
    END LOOP;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER boards_usage_insert AFTER INSERT ON ${s}.boards
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_boards();
CREATE TRIGGER boards_usage_update AFTER UPDATE ON ${s}.boards
  REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_boards();
CREATE TRIGGER boards_usage_delete AFTER DELETE ON ${s}.boards
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_boards();
CREATE TRIGGER generations_usage_insert AFTER INSERT ON ${s}.generations
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_generations();
CREATE TRIGGER generations_usage_update AFTER UPDATE ON ${s}.generations
  REFERENCING OLD TABLE AS removed NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_generations();
CREATE TRIGGER generations_usage_delete AFTER DELETE ON ${s}.generations
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_generations();
CREATE TRIGGER board_members_usage_insert AFTER INSERT ON ${s}.board_members
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_members();
CREATE TRIGGER board_members_usage_delete AFTER DELETE ON ${s}.board_members
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${s}.boards_usage_on_members();

DROP FUNCTION ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, text, text);
CREATE FUNCTION ${s}.boards_update_tenant(p_tenant uuid, p_name text, p_settings jsonb,
    p_allowed_issuers text[], p_claims_admit boolean, p_quotas jsonb, p_actor text, p_request_id text)
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
         quotas = COALESCE(p_quotas, quotas),
         updated_at = now()
   WHERE id = p_tenant
  RETURNING slug INTO changed_slug;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.platform_audit_events (action, tenant, tenant_slug, actor, request_id, details)
  VALUES ('tenant.update', p_tenant, changed_slug, p_actor, p_request_id, jsonb_strip_nulls(jsonb_build_object(
    'name', p_name IS NOT NULL, 'settings', p_settings IS NOT NULL,
    'allowed_issuers', p_allowed_issuers, 'claims_admit', p_claims_admit, 'quotas', p_quotas)));
  RETURN true;
END
$fn$;

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
  fn text;
BEGIN
  EXECUTE format('GRANT SELECT ON ${s}.tenant_usage TO %I', runtime_role);
  FOREACH fn IN ARRAY ARRAY[
    'boards_quota_limit(uuid, text)',
    'boards_quota_refuse(text, bigint)',
    'boards_act_as_tenant(uuid)',
    'boards_restore_tenant(text)',
    'boards_count_add(uuid, uuid, text, integer)',
    'boards_usage_add(uuid, integer, bigint)',
    'boards_usage_on_boards()',
    'boards_usage_on_generations()',
    'boards_usage_on_members()'
  ] LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION ${s}.%s FROM PUBLIC', fn);
  END LOOP;
  EXECUTE format('REVOKE ALL ON FUNCTION ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, jsonb, text, text) FROM PUBLIC');
  EXECUTE format('GRANT EXECUTE ON FUNCTION ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, jsonb, text, text) TO %I', runtime_role);
END
$grants$;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = await currentSchema(queryRunner);
    await queryRunner.query(`
DROP TRIGGER IF EXISTS board_members_usage_delete ON ${s}.board_members;
DROP TRIGGER IF EXISTS board_members_usage_insert ON ${s}.board_members;
DROP TRIGGER IF EXISTS generations_usage_delete ON ${s}.generations;
DROP TRIGGER IF EXISTS generations_usage_update ON ${s}.generations;
DROP TRIGGER IF EXISTS generations_usage_insert ON ${s}.generations;
DROP TRIGGER IF EXISTS boards_usage_delete ON ${s}.boards;
DROP TRIGGER IF EXISTS boards_usage_update ON ${s}.boards;
DROP TRIGGER IF EXISTS boards_usage_insert ON ${s}.boards;
DROP FUNCTION IF EXISTS ${s}.boards_usage_on_members();
DROP FUNCTION IF EXISTS ${s}.boards_usage_on_generations();
DROP FUNCTION IF EXISTS ${s}.boards_usage_on_boards();
DROP FUNCTION IF EXISTS ${s}.boards_usage_add(uuid, integer, bigint);
DROP FUNCTION IF EXISTS ${s}.boards_count_add(uuid, uuid, text, integer);
DROP FUNCTION IF EXISTS ${s}.boards_restore_tenant(text);
DROP FUNCTION IF EXISTS ${s}.boards_act_as_tenant(uuid);
DROP FUNCTION IF EXISTS ${s}.boards_quota_refuse(text, bigint);
DROP FUNCTION IF EXISTS ${s}.boards_quota_limit(uuid, text);
DROP TABLE IF EXISTS ${s}.tenant_usage;
DROP FUNCTION IF EXISTS ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, jsonb, text, text);
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
DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('REVOKE ALL ON FUNCTION ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, text, text) FROM PUBLIC');
  EXECUTE format('GRANT EXECUTE ON FUNCTION ${s}.boards_update_tenant(uuid, text, jsonb, text[], boolean, text, text) TO %I', runtime_role);
END
$grants$;
ALTER TABLE ${s}.tenants DROP COLUMN IF EXISTS quotas;
ALTER TABLE ${s}.generations DROP COLUMN IF EXISTS payload_bytes;
ALTER TABLE ${s}.boards DROP COLUMN IF EXISTS member_count, DROP COLUMN IF EXISTS generation_count,
  DROP COLUMN IF EXISTS payload_bytes;
DROP INDEX IF EXISTS ${s}.boards_description_trgm_idx;
DROP INDEX IF EXISTS ${s}.boards_title_trgm_idx;`);
  }
}

/** The migrating session's schema, as a quoted identifier. */
async function currentSchema(queryRunner: QueryRunner): Promise<string> {
  const [row] = (await queryRunner.query('SELECT quote_ident(current_schema()) AS schema')) as {
    schema: string;
  }[];
  return row.schema;
}
