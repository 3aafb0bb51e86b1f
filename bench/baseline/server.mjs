// The bare baseline: node:http + pg doing the same work as the project for GET /api/boards and
// GET /api/boards/:id — verify the HS256 token with node:crypto, resolve tenant and user (cached
// in memory, as the project caches them), open a transaction, set_config('app.tenant_id', …, true),
// run the same SQL the project runs, commit, and serialize the same JSON. Same pool size.
import http from 'node:http';
import { boardJson, sendJson, verifyHs256 } from '../lib/bare.mjs';
import pg from 'pg';

const PORT = Number(process.env.PORT ?? 8900);
const SECRET = process.env.JWT_SECRET ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
pool.on('error', () => undefined);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const tenants = new Map();
const users = new Map();

// The project's SQL (BoardsRepository in src/modules/boards/boards.repository.ts), verbatim.
const VIEW_SQL =
  'SELECT b.tenant_id, b.id, b.owner_id, b.title, b.description, b.is_public, b.settings, b.metadata, ' +
  'b.version, b.created_at, b.updated_at, o.id AS owner_user_id, o.display_name AS owner_display_name, ' +
  'o.avatar_url AS owner_avatar_url, m.role AS member_role, m.id AS member_id ' +
  'FROM boards b ' +
  'LEFT JOIN users o ON o.tenant_id = b.tenant_id AND o.id = b.owner_id ' +
  'LEFT JOIN board_members m ON m.tenant_id = b.tenant_id AND m.board_id = b.id AND m.user_id = $1 ' +
  'WHERE b.tenant_id = $2';
const LIST_SQL = `${VIEW_SQL} AND (b.owner_id = $1 OR m.id IS NOT NULL OR b.is_public) ORDER BY b.updated_at DESC, b.id DESC LIMIT $3`;
const GET_SQL = `${VIEW_SQL} AND b.id = $3`;

const verify = (header) => verifyHs256(header, SECRET);

async function inTenant(tenantId, work) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function actor(claims) {
  let tenant = tenants.get(claims.tenant);
  if (!tenant) {
    const { rows } = await pool.query(`SELECT id, status FROM tenants WHERE slug = $1`, [claims.tenant]);
    if (!rows[0] || rows[0].status !== 'active') return undefined;
    tenant = rows[0].id;
    tenants.set(claims.tenant, tenant);
  }
  const key = `${tenant}:${claims.sub}`;
  let user = users.get(key);
  if (!user) {
    const rows = await inTenant(tenant, async (client) =>
      (await client.query(`SELECT id FROM users WHERE auth_provider = 'jwt' AND auth_subject = $1`, [claims.sub])).rows,
    );
    if (!rows[0]) return undefined;
    user = rows[0].id;
    users.set(key, user);
  }
  return { tenant, user };
}

const board = boardJson;

const send = sendJson;

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, { error: 'Internal Server Error', status: 500 }));
});

async function handle(req, res) {
  const path = req.url.split('?')[0];
  if (path === '/health/ready') {
    await pool.query('SELECT 1');
    return send(res, 200, { status: 'ok' });
  }
  const claims = verify(req.headers.authorization);
  if (!claims) return send(res, 401, { error: 'Unauthorized', status: 401 });
  const who = await actor(claims);
  if (!who) return send(res, 403, { error: 'Forbidden', status: 403 });
  if (path === '/api/boards') {
    const rows = await inTenant(who.tenant, async (client) => (await client.query(LIST_SQL, [who.user, who.tenant, 21])).rows);
    const more = rows.length > 20;
    const items = rows.slice(0, 20).map((row) => board(row, who.user));
    const last = items[items.length - 1];
    const next = more ? Buffer.from(JSON.stringify([last.updated_at, last.id])).toString('base64url') : null;
    return send(res, 200, { items, next_cursor: next });
  }
  const match = /^\/api\/boards\/([^/]+)$/.exec(path);
  if (match && UUID.test(match[1])) {
    const rows = await inTenant(who.tenant, async (client) => (await client.query(GET_SQL, [who.user, who.tenant, match[1]])).rows);
    const row = rows[0];
    if (!row || !(row.is_public || row.owner_id === who.user || row.member_id)) return send(res, 404, { error: 'Not Found', status: 404 });
    return send(res, 200, board(row, who.user));
  }
  return send(res, 404, { error: 'Not Found', status: 404 });
}

server.listen(PORT, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
