import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Admission from explicit facts only (DESIGN.md §2 "Admission"):
 *
 * - `users.membership_source`: how a user row became a member of its tenant. `claim` follows the
 *   identity provider's tenant claim (a token that no longer lists the tenant does not reach it);
 *   `registration`, `setup_admin`, `invitation`, `domain`, `default` and `legacy` are memberships
 *   of their own that last until an admin removes them or the person leaves; `removed` is a
 *   membership an admin ended (the row stays so that the person's generations and audit trail keep
 *   their author); `system` is the sample-data owner; `email_domain` marks a row that the retired
 *   e-mail first-label rule may have created: it admits nobody by itself until another fact
 *   (a claim, an invitation, a verified domain) confirms it. Existing rows are classified below;
 *   `boards tenant memberships --source email_domain` lists the suspects for review.
 * - `tenants.allowed_issuers`: a tenant bound to its own identity providers; tokens of any other
 *   trusted issuer do not enter it.
 * - `tenants.claims_admit`: whether the identity provider's tenant claim admits people into the
 *   tenant. True for tenants a platform admin made (and those existing before); a self-registered
 *   tenant gets it only when the registrant's own token listed its slug, so registering a slug
 *   an IdP uses does not capture everyone that IdP assigns to it.
 * - `tenant_invitations` (tenant-owned, row-level security like every tenant table): an admin's
 *   invitation by e-mail and role, accepted by a token whose e-mail matches and is verified.
 * - `tenant_domains` (registry): a tenant's own e-mail domains, each held by at most one tenant.
 * - `slug_quarantine` (registry): a deleted tenant's slug cannot be taken again until the
 *   quarantine ends (`boards.slug_quarantine_days` of the deleting transaction, default 30), so
 *   tokens that still name it cannot land in someone else's new tenant; the same tenant (same id)
 *   restored from an export may take it back. Enforced by triggers, for
 *   every path that deletes or creates tenants (API, CLI, plain SQL), under one advisory lock per
 *   slug so a deletion and a re-creation cannot cross.
 * - `tenant_changes`: a change log of the registry read by transaction id (like user_changes), so
 *   a suspension that commits after a later change is still seen by every replica.
 *
 * Registry tables reference their tenant through a column named `tenant` (not `tenant_id`): they
 * are not tenant-owned, carry no row-level security, and the catalog test lists them by name.
 */
export class ExplicitAdmission1765065600000 implements MigrationInterface {
  name = 'ExplicitAdmission1765065600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const schema = await currentSchema(queryRunner);
    await queryRunner.query(`
ALTER TABLE ${schema}.users
  ADD COLUMN membership_source varchar(20) NOT NULL DEFAULT 'legacy'
    CONSTRAINT users_membership_source_check CHECK (membership_source IN (
      'claim', 'default', 'registration', 'setup_admin', 'invitation', 'domain',
      'legacy', 'email_domain', 'removed', 'system'));

ALTER TABLE ${schema}.tenants
  ADD COLUMN allowed_issuers text[] NOT NULL DEFAULT '{}'
    CONSTRAINT tenants_allowed_issuers_check CHECK (cardinality(allowed_issuers) <= 20),
  ADD COLUMN claims_admit boolean NOT NULL DEFAULT true;

CREATE TABLE ${schema}.tenant_invitations (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES ${schema}.tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email varchar(320) NOT NULL CHECK (email ~ '^[^\\s@A-Z]+@[^\\s@A-Z]+$'),
  role varchar(20) NOT NULL CHECK (role IN ('admin', 'member')),
  invited_by uuid,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  accepted_at timestamptz(3),
  accepted_by uuid,
  revoked_at timestamptz(3),
  CONSTRAINT tenant_invitations_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT tenant_invitations_invited_by_fkey FOREIGN KEY (tenant_id, invited_by)
    REFERENCES ${schema}.users (tenant_id, id) ON DELETE SET NULL (invited_by),
  CONSTRAINT tenant_invitations_accepted_by_fkey FOREIGN KEY (tenant_id, accepted_by)
    REFERENCES ${schema}.users (tenant_id, id) ON DELETE SET NULL (accepted_by)
);
CREATE UNIQUE INDEX tenant_invitations_open_key ON ${schema}.tenant_invitations (tenant_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX tenant_invitations_created_idx
  ON ${schema}.tenant_invitations (tenant_id, created_at DESC, id DESC);
ALTER TABLE ${schema}.tenant_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${schema}.tenant_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ${schema}.tenant_invitations
  USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE ${schema}.tenant_domains (
  domain varchar(253) PRIMARY KEY
    CHECK (domain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'),
  tenant uuid NOT NULL REFERENCES ${schema}.tenants (id) ON DELETE CASCADE,
  added_by text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX tenant_domains_tenant_idx ON ${schema}.tenant_domains (tenant, domain);

CREATE TABLE ${schema}.slug_quarantine (
  slug varchar(50) PRIMARY KEY,
  former_tenant uuid NOT NULL,
  deleted_at timestamptz(3) NOT NULL DEFAULT now(),
  until timestamptz(3) NOT NULL
);

CREATE FUNCTION ${schema}.lock_tenant_slug(slug text) RETURNS void
  LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT pg_advisory_xact_lock(hashtextextended('boards-tenant-slug:' || slug, 0));
$fn$;

CREATE FUNCTION ${schema}.quarantine_deleted_slug() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM ${schema}.lock_tenant_slug(OLD.slug);
  INSERT INTO ${schema}.slug_quarantine (slug, former_tenant, until)
  VALUES (OLD.slug, OLD.id, now() + make_interval(days =>
    COALESCE(NULLIF(current_setting('boards.slug_quarantine_days', true), '')::int, 30)))
  ON CONFLICT (slug) DO UPDATE
    SET former_tenant = EXCLUDED.former_tenant, deleted_at = EXCLUDED.deleted_at, until = EXCLUDED.until;
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION ${schema}.quarantine_deleted_slug() FROM PUBLIC;
CREATE TRIGGER tenants_slug_quarantined AFTER DELETE ON ${schema}.tenants
  FOR EACH ROW EXECUTE FUNCTION ${schema}.quarantine_deleted_slug();

CREATE FUNCTION ${schema}.refuse_quarantined_slug() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  ends timestamptz;
BEGIN
  PERFORM ${schema}.lock_tenant_slug(NEW.slug);
  -- The deleted tenant itself may come back under its slug (a restore keeps its id).
  DELETE FROM ${schema}.slug_quarantine WHERE slug = NEW.slug AND former_tenant = NEW.id;
  SELECT until INTO ends FROM ${schema}.slug_quarantine WHERE slug = NEW.slug AND until > now();
  IF FOUND THEN
    RAISE EXCEPTION 'tenant slug "%" is quarantined until %', NEW.slug, ends
      USING ERRCODE = 'BQ001', DETAIL = to_char(ends AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
  END IF;
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION ${schema}.refuse_quarantined_slug() FROM PUBLIC;
CREATE TRIGGER tenants_slug_not_quarantined BEFORE INSERT ON ${schema}.tenants
  FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_quarantined_slug();

CREATE TABLE ${schema}.tenant_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
  slug varchar(64) NOT NULL,
  changed_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX tenant_changes_xact_idx ON ${schema}.tenant_changes (xact);
CREATE INDEX tenant_changes_changed_at_idx ON ${schema}.tenant_changes (changed_at);

CREATE FUNCTION ${schema}.record_tenant_change() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO ${schema}.tenant_changes (slug) VALUES ('*');
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO ${schema}.tenant_changes (slug) VALUES (NEW.slug);
  ELSE
    INSERT INTO ${schema}.tenant_changes (slug) VALUES (OLD.slug);
  END IF;
  DELETE FROM ${schema}.tenant_changes WHERE id IN (
    SELECT id FROM ${schema}.tenant_changes
     WHERE changed_at < now() - interval '1 hour'
     ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED);
  RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION ${schema}.record_tenant_change() FROM PUBLIC;
CREATE TRIGGER tenants_inserted AFTER INSERT ON ${schema}.tenants
  FOR EACH ROW EXECUTE FUNCTION ${schema}.record_tenant_change();
CREATE TRIGGER tenants_changed AFTER UPDATE ON ${schema}.tenants
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ${schema}.record_tenant_change();
CREATE TRIGGER tenants_deleted AFTER DELETE ON ${schema}.tenants
  FOR EACH ROW EXECUTE FUNCTION ${schema}.record_tenant_change();
CREATE TRIGGER tenants_truncated AFTER TRUNCATE ON ${schema}.tenants
  FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.record_tenant_change();

DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  EXECUTE format('GRANT UPDATE (membership_source) ON ${schema}.users TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (allowed_issuers, claims_admit) ON ${schema}.tenants TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT ON ${schema}.tenant_invitations TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (accepted_at, accepted_by, revoked_at) ON ${schema}.tenant_invitations TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON ${schema}.tenant_domains TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, DELETE ON ${schema}.slug_quarantine TO %I', runtime_role);
  EXECUTE format('GRANT SELECT ON ${schema}.tenant_changes TO %I', runtime_role);
END
$grants$;`);

    await classifyExistingMembers(queryRunner, schema);
    // From now on a row written without a source follows the claim: the most restrictive kind.
    await queryRunner.query(
      `ALTER TABLE ${schema}.users ALTER COLUMN membership_source SET DEFAULT 'claim'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const schema = await currentSchema(queryRunner);
    await queryRunner.query(`
DROP TRIGGER IF EXISTS tenants_truncated ON ${schema}.tenants;
DROP TRIGGER IF EXISTS tenants_deleted ON ${schema}.tenants;
DROP TRIGGER IF EXISTS tenants_changed ON ${schema}.tenants;
DROP TRIGGER IF EXISTS tenants_inserted ON ${schema}.tenants;
DROP FUNCTION IF EXISTS ${schema}.record_tenant_change();
DROP TABLE IF EXISTS ${schema}.tenant_changes;
DROP TRIGGER IF EXISTS tenants_slug_not_quarantined ON ${schema}.tenants;
DROP TRIGGER IF EXISTS tenants_slug_quarantined ON ${schema}.tenants;
DROP FUNCTION IF EXISTS ${schema}.refuse_quarantined_slug();
DROP FUNCTION IF EXISTS ${schema}.quarantine_deleted_slug();
DROP FUNCTION IF EXISTS ${schema}.lock_tenant_slug(text);
DROP TABLE IF EXISTS ${schema}.slug_quarantine;
DROP TABLE IF EXISTS ${schema}.tenant_domains;
DROP TABLE IF EXISTS ${schema}.tenant_invitations;
ALTER TABLE ${schema}.tenants DROP COLUMN IF EXISTS allowed_issuers;
ALTER TABLE ${schema}.tenants DROP COLUMN IF EXISTS claims_admit;
ALTER TABLE ${schema}.users DROP COLUMN IF EXISTS membership_source;`);
  }
}

/**
 * Labels the rows that existed before this migration:
 * - `system` for the sample-data owner;
 * - `registration` for each tenant's registrant (tenants.registered_by = provider:subject);
 * - `email_domain` for the rows the retired first-label rule could have created: not an admin,
 *   with an e-mail whose domain's first label folds into the tenant's slug (the rule's own
 *   folding, frozen here), outside the public mail providers it skipped;
 * - `legacy` (the column default) for everyone else: they keep their access, as before.
 * users has FORCE ROW LEVEL SECURITY, so each tenant is read in turn with its app.tenant_id set.
 */
async function classifyExistingMembers(queryRunner: QueryRunner, schema: string): Promise<void> {
  const tenants = (await queryRunner.query(
    `SELECT id::text AS id, slug, registered_by FROM ${schema}.tenants ORDER BY id`,
  )) as { id: string; slug: string; registered_by: string | null }[];
  for (const tenant of tenants) {
    await queryRunner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
    const users = (await queryRunner.query(
      `SELECT id::text AS id, auth_provider, auth_subject, email, tenant_role
         FROM ${schema}.users WHERE tenant_id = $1::uuid`,
      [tenant.id],
    )) as {
      id: string;
      auth_provider: string;
      auth_subject: string;
      email: string | null;
      tenant_role: string;
    }[];
    const labels = new Map<string, string[]>();
    for (const user of users) {
      let label: string | undefined;
      if (user.auth_provider === 'system') label = 'system';
      else if (tenant.registered_by === `${user.auth_provider}:${user.auth_subject}`)
        label = 'registration';
      else if (user.tenant_role !== 'admin' && legacyFirstLabelSlug(user.email) === tenant.slug)
        label = 'email_domain';
      if (label) labels.set(label, [...(labels.get(label) ?? []), user.id]);
    }
    for (const [label, ids] of labels) {
      await queryRunner.query(
        `UPDATE ${schema}.users SET membership_source = $2
          WHERE tenant_id = $1::uuid AND id = ANY($3::uuid[])`,
        [tenant.id, label, ids],
      );
    }
  }
  await queryRunner.query(`SELECT set_config('app.tenant_id', '', true)`);
}

/** The retired rule's public providers (first labels), frozen as it shipped. */
const LEGACY_PUBLIC_MAIL_PROVIDERS = new Set([
  'gmail',
  'googlemail',
  'outlook',
  'hotmail',
  'live',
  'msn',
  'yahoo',
  'ymail',
  'icloud',
  'me',
  'mac',
  'protonmail',
  'proton',
  'pm',
  'aol',
  'gmx',
  'web',
  'mail',
  'yandex',
  'zoho',
]);

/**
 * The slug the retired rule derived from an e-mail (`x@acme.example` → `acme`), with its folding
 * (NFKD, accents dropped, lowercased, other characters to hyphens), frozen as it shipped.
 */
export function legacyFirstLabelSlug(email: string | null): string | undefined {
  if (email === null) return undefined;
  const at = email.lastIndexOf('@');
  if (at < 1) return undefined;
  const labels = email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .split('.');
  if (labels.length < 2 || labels.some((label) => label === '')) return undefined;
  if (LEGACY_PUBLIC_MAIL_PROVIDERS.has(labels[0])) return undefined;
  const slug = labels[0]
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/.test(slug) ? slug : undefined;
}

/** The migrating session's schema, as a quoted identifier. */
async function currentSchema(queryRunner: QueryRunner): Promise<string> {
  const [row] = (await queryRunner.query('SELECT quote_ident(current_schema()) AS schema')) as {
    schema: string;
  }[];
  return row.schema;
}
