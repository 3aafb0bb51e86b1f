import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole schema of DESIGN.md §2–3, as reviewed SQL.
 *
 * Every tenant-owned table:
 * - has `tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid` (an insert without a
 *   tenant setting fails instead of landing nowhere);
 * - has a primary key and every unique key leading with tenant_id;
 * - points at its parents with composite foreign keys (tenant_id, parent_id), so a row can never
 *   reference another tenant's row;
 * - has row-level security ENABLED and FORCED with one policy (USING and WITH CHECK).
 *
 * The runtime role (the `boards.runtime_role` setting of the migrating session, default boards_app)
 * gets only DML on these tables; UPDATE is granted per column and never on tenant_id or id;
 * audit_events is append-only for it.
 */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  slug varchar(50) NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$'),
  status varchar(20) NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'pending_approval', 'suspended', 'rejected')),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  registered_by text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT tenants_slug_key UNIQUE (slug)
);
CREATE INDEX tenants_registered_by_idx ON tenants (registered_by) WHERE registered_by IS NOT NULL;

CREATE TABLE users (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  tenant_role varchar(20) NOT NULL DEFAULT 'member' CHECK (tenant_role IN ('admin', 'member')),
  auth_provider varchar(100) NOT NULL,
  auth_subject varchar(255) NOT NULL,
  email varchar(320),
  display_name varchar(255),
  avatar_url text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT users_identity_key UNIQUE (tenant_id, auth_provider, auth_subject)
);
CREATE INDEX users_email_idx ON users (tenant_id, lower(email));

CREATE TABLE boards (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  owner_id uuid NOT NULL,
  title varchar(255) NOT NULL CHECK (length(title) > 0),
  description text,
  is_public boolean NOT NULL DEFAULT false,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT boards_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT boards_owner_fkey FOREIGN KEY (tenant_id, owner_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX boards_owner_idx ON boards (tenant_id, owner_id);
CREATE INDEX boards_updated_idx ON boards (tenant_id, updated_at DESC, id DESC);
CREATE INDEX boards_created_idx ON boards (tenant_id, created_at DESC, id DESC);
CREATE INDEX boards_public_idx ON boards (tenant_id, updated_at DESC) WHERE is_public;

CREATE TABLE board_members (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  board_id uuid NOT NULL,
  user_id uuid NOT NULL,
  role varchar(20) NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'editor', 'admin')),
  invited_by uuid,
  joined_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT board_members_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT board_members_board_user_key UNIQUE (tenant_id, board_id, user_id),
  CONSTRAINT board_members_board_fkey FOREIGN KEY (tenant_id, board_id)
    REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT board_members_user_fkey FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT board_members_invited_by_fkey FOREIGN KEY (tenant_id, invited_by)
    REFERENCES users (tenant_id, id) ON DELETE SET NULL (invited_by)
);
CREATE INDEX board_members_user_idx ON board_members (tenant_id, user_id);

CREATE TABLE generations (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  board_id uuid NOT NULL,
  user_id uuid NOT NULL,
  generator_name varchar(100) NOT NULL,
  artifact_type varchar(20) NOT NULL
    CHECK (artifact_type IN ('image', 'video', 'audio', 'text', 'lora', 'model')),
  input_params jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(input_params) = 'object'),
  status varchar(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  storage_url text,
  thumbnail_url text,
  output_metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(output_metadata) = 'object'),
  progress real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
  error_message text,
  started_at timestamptz(3),
  completed_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT generations_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT generations_board_fkey FOREIGN KEY (tenant_id, board_id)
    REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT generations_user_fkey FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX generations_board_idx ON generations (tenant_id, board_id, created_at DESC, id DESC);
CREATE INDEX generations_user_idx ON generations (tenant_id, user_id);

CREATE TABLE audit_events (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  actor_id uuid,
  actor_subject varchar(255),
  action varchar(100) NOT NULL,
  target_type varchar(50) NOT NULL,
  target_id varchar(255),
  outcome varchar(20) NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  request_id varchar(128),
  ip varchar(64),
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_created_idx ON audit_events (tenant_id, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
  tenant_id uuid NOT NULL DEFAULT current_setting('app.tenant_id')::uuid
    REFERENCES tenants (id) ON DELETE CASCADE,
  user_id uuid NOT NULL,
  idempotency_key varchar(255) NOT NULL,
  method varchar(10) NOT NULL,
  path varchar(2048) NOT NULL,
  request_hash char(64) NOT NULL,
  response_status integer,
  response_body jsonb,
  response_headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL DEFAULT now() + interval '24 hours',
  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, user_id, idempotency_key),
  CONSTRAINT idempotency_keys_user_fkey FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (tenant_id, expires_at);
`);

    for (const table of TENANT_TABLES) {
      await queryRunner.query(`
ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ${table}
  USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);`);
    }

    await queryRunner.query(GRANT_RUNTIME_PRIVILEGES);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
DROP TABLE IF EXISTS idempotency_keys, audit_events, generations, board_members, boards, users, tenants CASCADE;`);
  }
}

const TENANT_TABLES = [
  'users',
  'boards',
  'board_members',
  'generations',
  'audit_events',
  'idempotency_keys',
] as const;

/**
 * Creates the runtime role when missing (NOLOGIN: the operator gives it a password and LOGIN) and
 * grants it exactly what the API needs. Idempotent.
 */
const GRANT_RUNTIME_PRIVILEGES = `
DO $grants$
DECLARE
  runtime_role text := COALESCE(NULLIF(current_setting('boards.runtime_role', true), ''), 'boards_app');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime_role) THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS', runtime_role);
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', runtime_role);
  EXECUTE format('GRANT SELECT ON migrations TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON tenants TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (name, status, settings, updated_at) ON tenants TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT, DELETE ON users, boards, board_members, generations, idempotency_keys TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (tenant_role, email, display_name, avatar_url, metadata, updated_at) ON users TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (owner_id, title, description, is_public, settings, metadata, version, updated_at) ON boards TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (role) ON board_members TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (status, storage_url, thumbnail_url, output_metadata, progress, error_message, started_at, completed_at, updated_at) ON generations TO %I', runtime_role);
  EXECUTE format('GRANT UPDATE (response_status, response_body, response_headers, expires_at) ON idempotency_keys TO %I', runtime_role);
  EXECUTE format('GRANT SELECT, INSERT ON audit_events TO %I', runtime_role);
END
$grants$;`;
