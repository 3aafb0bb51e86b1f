// What the two bare servers (bench/baseline, bench/limit) share: the HS256 check, the board's JSON
// as the project answers it, and a JSON response. Kept minimal: the servers stand for the least
// work a request needs.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The claims of a valid HS256 bearer token signed with `secret`; undefined otherwise. */
export function verifyHs256(header, secret) {
  if (!header?.startsWith('Bearer ')) return undefined;
  const [h, p, s] = header.slice(7).split('.');
  if (!h || !p || !s) return undefined;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (JSON.parse(Buffer.from(h, 'base64url').toString()).alg !== 'HS256') return undefined;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
  return claims;
}

/** A board view row (the project's SQL) as the project's JSON, for the caller `userId`. */
export function boardJson(row, userId) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    is_public: row.is_public,
    settings: row.settings,
    metadata: row.metadata,
    owner_id: row.owner_id,
    owner: row.owner_user_id ? { id: row.owner_user_id, display_name: row.owner_display_name, avatar_url: row.owner_avatar_url } : null,
    my_role: row.owner_id === userId ? 'owner' : (row.member_role ?? null),
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
