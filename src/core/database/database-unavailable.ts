/**
 * Whether an error means the database cannot be reached or cannot serve right now (so the client
 * should retry: 503 with Retry-After), as opposed to a refusal of this request (4xx) or a bug
 * (500). Looked for on the error, its `driverError` (TypeORM's QueryFailedError) and its `cause`.
 */

/**
 * SQLSTATEs of a server that is going away or not accepting work: class 08 (connection
 * exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many
 * connections).
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08007',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** Socket errors of a connection that cannot be made or was cut. */
const UNAVAILABLE_SYSCALLS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * What node-postgres raises, without any code, when its pool cannot hand out a connection in time
 * or a connection dies under a query. Verified against pg 8.23 (lib/client.js) and pg-pool 3.x
 * (index.js); database-unavailable.spec.ts reads those files so that a changed wording fails a
 * test instead of turning outages into 500s.
 */
export const PG_UNAVAILABLE_MESSAGES: readonly string[] = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'timeout expired',
  // query_timeout (see GuardedPgClient): no answer from a frozen or cut-off server.
  'Query read timeout',
];

const MESSAGES = new Set(PG_UNAVAILABLE_MESSAGES);

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 3 || error === null || typeof error !== 'object') return false;
  const { code, message, driverError, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    /** AggregateError: every address of the host refused (Node's happy eyeballs). */
    errors?: unknown;
  };
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SYSCALLS.has(code))
  )
    return true;
  if (typeof message === 'string' && typeof code !== 'string' && MESSAGES.has(message)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner, depth + 1)))
    return true;
  return isDatabaseUnavailable(driverError, depth + 1) || isDatabaseUnavailable(cause, depth + 1);
}
