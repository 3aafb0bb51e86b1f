// The bare *limit* baseline (issue 20): the least work that still does what the project does for
// GET /api/boards, GET /api/boards/:id, POST /api/boards and GET /health/ready, so that the
// project's figures can be stated as a fraction of what this machine allows.
//
// - node:http + postgres.js (the `postgres` package), the same pool size as the project.
// - The same authentication work as bench/baseline/server.mjs: HS256 verified with node:crypto,
//   tenant and user resolved once and cached in memory.
// - Reads: the project's SQL text (BoardsRepository's VIEW_SQL, verbatim) as a prepared statement,
//   in a read-only tenant transaction sent as ONE round trip: on a reserved connection
//   `BEGIN READ ONLY`, `SELECT set_config('app.tenant_id', $1, true)`, the SELECT and `COMMIT` are
//   written without waiting for each other (postgres.js pipelines them), then awaited together.
// - POST /api/boards: the project's create transaction (BoardsService.create) in ONE round trip:
//   `BEGIN`, the tenant and quota settings (the usage triggers read `boards.quota`), one INSERT …
//   RETURNING joined to the owner's profile in a CTE — with the audit event in the same statement
//   when AUDIT=true (the project's BOARDS_ENABLE_AUDIT_LOGGING), and with the idempotency lock,
//   lookup and record in the same statement when an Idempotency-Key header is sent — and `COMMIT`.
// - GET /health/ready: answered from state a background `SELECT 1` refreshes every second.
// Same JSON as the project (checked by bench/lib/agreement.mjs at the start of every bench run).
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { boardJson, sendJson, verifyHs256 } from '../lib/bare.mjs';
import postgres from 'postgres';

const PORT = Number(process.env.PORT ?? 8902);
const SECRET = process.env.JWT_SECRET ?? '';
const POOL_SIZE = Number(process.env.POOL_SIZE ?? 10);
const AUDIT = process.env.AUDIT === 'true';
/** The project's quota defaults (BOARDS_QUOTA_*, src/core/config/config-variables.ts). */
const QUOTA_DEFAULTS = {
  boards: Number(process.env.BOARDS_QUOTA_BOARDS ?? 10_000),
  generations_per_board: Number(process.env.BOARDS_QUOTA_GENERATIONS_PER_BOARD ?? 10_000),
  members_per_board: Number(process.env.BOARDS_QUOTA_MEMBERS_PER_BOARD ?? 1_000),
  stored_bytes: Number(process.env.BOARDS_QUOTA_STORED_BYTES ?? 1_073_741_824),
};
const READY_EVERY_MS = 1_000;
const READY_STALE_MS = 3 * READY_EVERY_MS + 2_000;

const sql = postgres(process.env.DATABASE_URL, {
  max: POOL_SIZE,
  prepare: true,
  idle_timeout: 0,
  onnotice: () => undefined,
  connection: { application_name: 'bench-limit' },
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const tenants = new Map();
const users = new Map();

// The project's SQL (BoardsRepository in src/modules/boards/boards.repository.ts), verbatim.
const VIEW_SQL =
  'SELECT b.tenant_id, b.id, b.owner_id, b.title, b.description, b.is_public, b.settings, b.metadata, ' +
  'b.version, b.created_at, b.updated_at, b.payload_bytes, o.id AS owner_user_id, o.display_name AS owner_display_name, ' +
  'o.avatar_url AS owner_avatar_url, m.role AS member_role, m.id AS member_id ' +
  'FROM boards b ' +
  'LEFT JOIN users o ON o.tenant_id = b.tenant_id AND o.id = b.owner_id ' +
  'LEFT JOIN board_members m ON m.tenant_id = b.tenant_id AND m.board_id = b.id AND m.user_id = $1 ' +
  'WHERE b.tenant_id = $2';
const LIST_SQL = `${VIEW_SQL} AND (b.owner_id = $1 OR m.id IS NOT NULL OR b.is_public) ORDER BY b.updated_at DESC, b.id DESC LIMIT $3`;
const GET_SQL = `${VIEW_SQL} AND b.id = $3`;
const USER_SQL = `SELECT id FROM users WHERE auth_provider = 'jwt' AND auth_subject = $1`;

// The board as BoardsRepository.insert writes it (TypeORM: column defaults for id and the
// timestamps, version 1), and as BoardsService.create reads it back (owner's public profile; the
// creator is the owner, so my_role is 'owner' and no membership row can exist yet).
// $1 tenant, $2 owner, $3 title, $4 description, $5 is_public, $6 settings, $7 metadata.
const INSERT_BOARD =
  'INSERT INTO boards (tenant_id, owner_id, title, description, is_public, settings, metadata, version) ';
const BOARD_RETURNING = ' RETURNING tenant_id, id, owner_id, title, description, is_public, settings, metadata, version, created_at, updated_at';
const WITH_OWNER =
  'v AS (SELECT b.*, o.id AS owner_user_id, o.display_name AS owner_display_name, o.avatar_url AS owner_avatar_url ' +
  'FROM b LEFT JOIN users o ON o.tenant_id = b.tenant_id AND o.id = b.owner_id)';
// AuditService.record of 'board.create': $8 actor subject, $9 request id, $10 client ip.
const AUDIT_CTE =
  ", a AS (INSERT INTO audit_events (tenant_id, actor_id, actor_subject, action, target_type, target_id, outcome, request_id, ip, details) " +
  "SELECT b.tenant_id, b.owner_id, $8, 'board.create', 'board', b.id::text, 'success', $9, $10, '{}'::jsonb FROM b)";
const CREATE_SQL = (audit) => `WITH b AS (${INSERT_BOARD}VALUES ($1, $2, $3, $4, $5, $6, $7, 1)${BOARD_RETURNING}), ${WITH_OWNER}${audit ? AUDIT_CTE : ''} SELECT * FROM v`;
// With an Idempotency-Key (IdempotencyInterceptor + IdempotencyRepository), still one statement:
// the transaction's advisory lock on the key, the stored unexpired answer if any, and only when
// the lock is ours and nothing is stored, the board and the record of the answer. An expired
// record is deleted first, as the project does (`b` reads `gone`, so the delete runs first). The
// stored body is the response JSON (timestamps as toISOString writes them), the headers location
// and etag. Parameters: the lock text, the key and the request hash ($11–$13 after the audit's
// three, else $8–$10).
const ISO = (column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const IDEMPOTENT_CREATE_SQL = (audit, lockText = audit ? '$11' : '$8', key = audit ? '$12' : '$9', hash = audit ? '$13' : '$10') =>
  `WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtextextended(${lockText}, 0)) AS locked), ` +
  'stored AS (SELECT k.request_hash, k.response_status, k.response_body, k.response_headers FROM idempotency_keys k, lock ' +
  `WHERE lock.locked AND k.tenant_id = $1 AND k.user_id = $2 AND k.idempotency_key = ${key} AND k.expires_at > now()), ` +
  'gone AS (DELETE FROM idempotency_keys k USING lock ' +
  `WHERE lock.locked AND k.tenant_id = $1 AND k.user_id = $2 AND k.idempotency_key = ${key} AND k.expires_at <= now() RETURNING 1), ` +
  `b AS (${INSERT_BOARD}SELECT $1, $2, $3, $4, $5, $6, $7, 1 FROM lock ` +
  `WHERE lock.locked AND NOT EXISTS (SELECT 1 FROM stored) AND (SELECT count(*) FROM gone) >= 0${BOARD_RETURNING}), ` +
  `${WITH_OWNER}${audit ? AUDIT_CTE : ''}, ` +
  'k AS (INSERT INTO idempotency_keys (tenant_id, user_id, idempotency_key, method, path, request_hash, response_status, response_body, response_headers, expires_at) ' +
  `SELECT v.tenant_id, v.owner_id, ${key}, 'POST', '/api/boards', ${hash}, 201, jsonb_build_object(` +
  "'id', v.id, 'title', v.title, 'description', v.description, 'is_public', v.is_public, 'settings', v.settings, 'metadata', v.metadata, " +
  "'owner_id', v.owner_id, 'owner', CASE WHEN v.owner_user_id IS NULL THEN NULL ELSE jsonb_build_object('id', v.owner_user_id, 'display_name', v.owner_display_name, 'avatar_url', v.owner_avatar_url) END, " +
  `'my_role', 'owner', 'version', v.version, 'created_at', ${ISO('v.created_at')}, 'updated_at', ${ISO('v.updated_at')}), ` +
  "jsonb_build_object('location', '/api/boards/' || v.id, 'etag', '\"' || v.id || '.' || v.version || '\"'), now() + interval '24 hours' FROM v) " +
  'SELECT (SELECT locked FROM lock) AS locked, (SELECT row_to_json(stored) FROM stored) AS stored, v.* FROM (SELECT 1) one LEFT JOIN v ON true';

const verify = (header) => verifyHs256(header, SECRET);

/**
 * One tenant transaction in one round trip: every statement is written to a reserved connection
 * before any answer is awaited. Each statement carries its own Sync, so after a failed statement
 * the COMMIT ends the aborted transaction (as a rollback) and the connection returns idle.
 * Resolves to the rows of the statement at `index`; rejects with the first failure.
 */
async function pipeline(statements, index) {
  const connection = await sql.reserve();
  try {
    const steps = await Promise.allSettled(statements(connection));
    const failed = steps.find((step) => step.status === 'rejected');
    if (failed) throw failed.reason;
    return steps[index].value;
  } finally {
    connection.release();
  }
}

function read(tenantId, text, params) {
  return pipeline(
    (c) => [c`BEGIN READ ONLY`, c`SELECT set_config('app.tenant_id', ${tenantId}, true)`, c.unsafe(text, params, { prepare: true }), c`COMMIT`],
    2,
  );
}

async function actor(claims) {
  let tenant = tenants.get(claims.tenant);
  if (!tenant) {
    const [row] = await sql`SELECT id, status, quotas FROM tenants WHERE slug = ${claims.tenant}`;
    if (!row || row.status !== 'active') return undefined;
    // TenantTransactions.quotaSetting: the tenant's effective quotas (quotaSettingLiteral).
    const quota = { tenant: row.id };
    for (const [name, value] of Object.entries(QUOTA_DEFAULTS)) {
      const override = row.quotas?.[name];
      quota[name] = Math.trunc(Number.isSafeInteger(override) && override >= 0 ? override : value);
    }
    tenant = { id: row.id, quota: JSON.stringify(quota) };
    tenants.set(claims.tenant, tenant);
  }
  const key = `${tenant.id}:${claims.sub}`;
  let user = users.get(key);
  if (!user) {
    const [row] = await read(tenant.id, USER_SQL, [claims.sub]);
    if (!row) return undefined;
    user = row.id;
    users.set(key, user);
  }
  return { tenant, user, subject: `jwt:${claims.sub}`.slice(0, 255) };
}

const board = boardJson;

const etag = (view) => `"${view.id}.${view.version}"`;

const send = sendJson;

const problem = (res, status, error) => send(res, status, { error, status });

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 1_048_576) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The checks CreateBoardDto makes, roughly: a title, optional nullable text, flag and objects. */
function newBoard(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { title, description = null, is_public: isPublic = false, settings = {}, metadata = {} } = body;
  const object = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (typeof title !== 'string' || title.trim() === '' || title.length > 255) return undefined;
  if (description !== null && (typeof description !== 'string' || description.length > 10_000)) return undefined;
  if (typeof isPublic !== 'boolean' || !object(settings) || !object(metadata)) return undefined;
  return { title, description, isPublic, settings, metadata };
}

async function create(req, res, who) {
  const text = await readBody(req);
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return problem(res, 400, 'Bad Request');
  }
  const fields = newBoard(parsed);
  if (!fields) return problem(res, 400, 'Bad Request');
  const header = req.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) return problem(res, 400, 'Bad Request');
  const params = [who.tenant.id, who.user, fields.title, fields.description, fields.isPublic, fields.settings, fields.metadata];
  if (AUDIT) params.push(who.subject, req.headers['x-request-id'] ?? randomUUID(), req.socket.remoteAddress ?? null);
  let statement = CREATE_SQL(AUDIT);
  if (key !== undefined) {
    statement = IDEMPOTENT_CREATE_SQL(AUDIT);
    const requestHash = createHash('sha256').update(`${req.method} ${req.url}\n${JSON.stringify(parsed ?? null)}`).digest('hex');
    params.push(`${who.tenant.id}:${who.user}:${key}`, key, requestHash);
  }
  const rows = await pipeline(
    (c) => [
      c`BEGIN`,
      c`SELECT set_config('app.tenant_id', ${who.tenant.id}, true), set_config('boards.quota', ${who.tenant.quota}, true)`,
      c.unsafe(statement, params, { prepare: true }),
      c`COMMIT`,
    ],
    2,
  );
  const row = rows[0];
  if (key !== undefined) {
    if (!row.locked) return problem(res, 409, 'Conflict');
    if (row.stored) {
      if (row.stored.request_hash !== params.at(-1)) return problem(res, 422, 'Unprocessable Entity');
      return send(res, row.stored.response_status, row.stored.response_body, { ...row.stored.response_headers, 'idempotent-replayed': 'true' });
    }
  }
  const view = board(row, who.user);
  return send(res, 201, view, { location: `/api/boards/${view.id}`, etag: etag(view) });
}

// Readiness from state refreshed in the background (as the project's ReadinessMonitor does).
let lastReady = 0;
async function refreshReadiness() {
  try {
    await sql`SELECT 1`.execute();
    lastReady = Date.now();
  } catch {
    // stays stale
  }
  setTimeout(refreshReadiness, READY_EVERY_MS).unref();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (process.env.DEBUG) console.error(err);
    problem(res, 500, 'Internal Server Error');
  });
});

async function handle(req, res) {
  const path = req.url.split('?')[0];
  if (path === '/health/ready') {
    return Date.now() - lastReady <= READY_STALE_MS ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'error' });
  }
  const claims = verify(req.headers.authorization);
  if (!claims) return problem(res, 401, 'Unauthorized');
  const who = await actor(claims);
  if (!who) return problem(res, 403, 'Forbidden');
  if (path === '/api/boards') {
    if (req.method === 'POST') return create(req, res, who);
    const rows = await read(who.tenant.id, LIST_SQL, [who.user, who.tenant.id, 21]);
    const more = rows.length > 20;
    const items = rows.slice(0, 20).map((row) => board(row, who.user));
    const last = items[items.length - 1];
    const next = more ? Buffer.from(JSON.stringify([last.updated_at, last.id])).toString('base64url') : null;
    return send(res, 200, { items, next_cursor: next });
  }
  const match = /^\/api\/boards\/([^/]+)$/.exec(path);
  if (match && UUID.test(match[1])) {
    const [row] = await read(who.tenant.id, GET_SQL, [who.user, who.tenant.id, match[1]]);
    if (!row || !(row.is_public || row.owner_id === who.user || row.member_id)) return problem(res, 404, 'Not Found');
    const view = board(row, who.user);
    return send(res, 200, view, { etag: etag(view) });
  }
  return problem(res, 404, 'Not Found');
}

// postgres.js's reserve() waits forever on a pool that has not opened a connection yet
// (../shared/NOTES.md): open every connection of the pool before listening.
await Promise.all(Array.from({ length: POOL_SIZE }, () => sql`SELECT 1`.execute()));
await refreshReadiness();
server.listen(PORT, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => sql.end({ timeout: 5 }).then(() => process.exit(0)));
  server.closeIdleConnections();
});
