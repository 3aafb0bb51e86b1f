import { randomBytes } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Seed helpers for isolation tests. Tenants go in as the owner role (the registry has no RLS);
 * tenant-owned rows go in through a tenant transaction (`set_config('app.tenant_id', …, true)`
 * first), exactly like the API writes them, so RLS WITH CHECK and the column defaults apply.
 */

/** Anything that runs SQL: a QueryRunner, an EntityManager or a DataSource. */
export interface SqlSession {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export interface SeededTenant {
  readonly id: string;
  readonly slug: string;
}

/** One row in each tenant-owned table, all belonging to one tenant. */
export interface TenantGraph {
  readonly tenantId: string;
  readonly marker: string;
  readonly ownerId: string;
  readonly memberId: string;
  readonly boardId: string;
  readonly boardMemberId: string;
  readonly generationId: string;
  readonly auditEventId: string;
  readonly idempotencyKey: string;
  readonly invitationId: string;
}

/** A unique lowercase marker usable as a slug or in titles: `<prefix>-<10 hex>`. */
export function uniqueMarker(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Inserts a tenant as the owner role; the slug doubles as its name. */
export async function createTenant(owner: DataSource, slug: string): Promise<SeededTenant> {
  const [row] = (await owner.query(
    `INSERT INTO tenants (name, slug) VALUES ($1, $2) RETURNING id::text AS id`,
    [slug, slug],
  )) as { id: string }[];
  return { id: row.id, slug };
}

/**
 * Runs `work` in one transaction bound to `tenantId` (set_config is its first statement), on
 * `dataSource`'s own connection; commits, or rolls back and rethrows.
 */
export async function inTenant<T>(
  dataSource: DataSource,
  tenantId: string,
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work(runner);
    await runner.commitTransaction();
    return result;
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

async function insertReturningId(
  runner: SqlSession,
  sql: string,
  params: unknown[],
): Promise<string> {
  const [row] = (await runner.query(sql, params)) as { id: string }[];
  return row.id;
}

/** Inserts a user in the open tenant transaction (tenant_id from the column default). */
export function insertUser(runner: SqlSession, subject: string): Promise<string> {
  return insertReturningId(
    runner,
    `INSERT INTO users (auth_provider, auth_subject, display_name) VALUES ('test', $1, $1)
     RETURNING id::text AS id`,
    [subject],
  );
}

/** Inserts a board in the open tenant transaction; `marker` goes into title and metadata. */
export function insertBoard(
  runner: SqlSession,
  ownerId: string,
  title: string,
  marker: string,
): Promise<string> {
  return insertReturningId(
    runner,
    `INSERT INTO boards (owner_id, title, metadata) VALUES ($1, $2, jsonb_build_object('marker', $3::text))
     RETURNING id::text AS id`,
    [ownerId, title, marker],
  );
}

/** Seeds a user for `tenantId` through a tenant transaction on `dataSource`. */
export function seedUser(
  dataSource: DataSource,
  tenantId: string,
  subject: string,
): Promise<string> {
  return inTenant(dataSource, tenantId, (runner) => insertUser(runner, subject));
}

/**
 * Seeds one row in every tenant-owned table for `tenantId` (two users, a board, a member, a
 * generation, an audit event, an idempotency key, an invitation), every text field carrying
 * `marker`.
 */
export function seedTenantGraph(
  dataSource: DataSource,
  tenantId: string,
  marker: string,
): Promise<TenantGraph> {
  return inTenant(dataSource, tenantId, async (runner) => {
    const ownerId = await insertUser(runner, `${marker}-owner`);
    const memberId = await insertUser(runner, `${marker}-member`);
    const boardId = await insertBoard(runner, ownerId, `${marker} board`, marker);
    const boardMemberId = await insertReturningId(
      runner,
      `INSERT INTO board_members (board_id, user_id, role, invited_by) VALUES ($1, $2, 'editor', $3)
       RETURNING id::text AS id`,
      [boardId, memberId, ownerId],
    );
    const generationId = await insertReturningId(
      runner,
      `INSERT INTO generations (board_id, user_id, generator_name, artifact_type, input_params)
       VALUES ($1, $2, 'test-generator', 'image', jsonb_build_object('prompt', $3::text))
       RETURNING id::text AS id`,
      [boardId, ownerId, marker],
    );
    const auditEventId = await insertReturningId(
      runner,
      `INSERT INTO audit_events (actor_id, action, target_type, target_id, outcome)
       VALUES ($1, 'board.create', 'board', $2, 'success') RETURNING id::text AS id`,
      [ownerId, boardId],
    );
    const idempotencyKey = `${marker}-key`;
    await runner.query(
      `INSERT INTO idempotency_keys (user_id, idempotency_key, method, path, request_hash)
       VALUES ($1, $2, 'POST', '/api/boards', repeat('a', 64))`,
      [ownerId, idempotencyKey],
    );
    const invitationId = await insertReturningId(
      runner,
      `INSERT INTO tenant_invitations (email, role, invited_by, expires_at)
       VALUES ($1, 'member', $2, now() + interval '7 days') RETURNING id::text AS id`,
      [`${marker}-invitee@example.test`, ownerId],
    );
    return {
      tenantId,
      marker,
      ownerId,
      memberId,
      boardId,
      boardMemberId,
      generationId,
      auditEventId,
      idempotencyKey,
      invitationId,
    };
  });
}
