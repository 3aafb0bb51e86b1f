// HS256 tokens for the benchmark's users, signed with node:crypto.
import { createHmac } from 'node:crypto';

/** The HS256 secret every bench server and token of the bench share. */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef-0123456789abcdef';

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function hs256(claims, secret) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** One token per (tenant, user) pair listed, valid for a day. */
export function mintTokens(pairs, secret) {
  const now = Math.floor(Date.now() / 1000);
  return pairs.map(({ slug, subject }) => hs256({ sub: subject, tenant: slug, iat: now, exp: now + 86_400 }, secret));
}
