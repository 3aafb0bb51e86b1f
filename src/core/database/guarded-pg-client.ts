import { AsyncLocalStorage } from 'node:async_hooks';
import { Client, Query } from 'pg';
import { destroyConnectionSocket } from './driver-internals';
import { namedStatement, unsureOfPrepared } from './prepared-statements';

/** node-postgres' error when a query got no answer within `query_timeout`. */
export const QUERY_READ_TIMEOUT_MESSAGE = 'Query read timeout';

/** How much longer than the statement timeout the client waits for an answer. */
export const QUERY_READ_TIMEOUT_MARGIN_MS = 5_000;

/**
 * A read timeout (ms; 0: none) for the queries made inside `run`, replacing the pool's
 * `query_timeout`: the admin route class may run statements longer than the pool's default allows.
 */
export const queryReadTimeout = new AsyncLocalStorage<number>();

/** The read timeout for one transaction of a route class whose statement timeout is `ms`. */
export function readTimeoutFor(ms: number): number {
  // 0 would fall back to the pool's timeout; "none" is the longest timer Node allows.
  return ms === 0 ? 2_147_483_647 : ms + QUERY_READ_TIMEOUT_MARGIN_MS;
}

/**
 * The node-postgres client of the server pools (passed as the pool's `Client`):
 *
 * - A query that got no answer within `query_timeout` (a frozen server, a network that drops
 *   packets without a reset) ends its connection. node-postgres only rejects the query; the
 *   connection would still wait for that answer, go back to the pool and hold up every request
 *   that borrows it. Destroyed, it is marked unusable and the pool drops it on release.
 * - A connection lost while it is checked out emits 'error' on the client; pg-pool listens only
 *   while it is idle, so without a listener here that would be an uncaught exception. The query
 *   in flight rejects as well, which is what callers act on.
 * - A statement with parameters whose text was given a prepared name (namedStatement: the
 *   repositories' writes, TenantTransactions.prepareStatement) goes as that named prepared
 *   statement. When it fails in a way that leaves pg unsure of what the connection holds
 *   (unsureOfPrepared: a migration changed what it returns, or the driver could not send a value
 *   after writing the Parse), the connection ends, as above: a fresh one prepares it anew.
 */
export class GuardedPgClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    this.on('error', () => undefined);
  }

  // node-postgres' overloads (promise, callback, submittable) are passed through unchanged.
  override query(...args: unknown[]): never {
    let named = false;
    if (typeof args[0] === 'string' && Array.isArray(args[1]) && args[1].length > 0) {
      const name = namedStatement(args[0]);
      if (name !== undefined) {
        args = [{ name, text: args[0], values: args[1] }, ...args.slice(2)];
        named = true;
      }
    }
    const scoped = queryReadTimeout.getStore();
    if (scoped !== undefined) {
      if (typeof args[0] === 'string') {
        args = [{ text: args[0], query_timeout: scoped }, ...args.slice(1)];
      } else if (isPlainQueryConfig(args[0])) {
        args = [{ ...args[0], query_timeout: scoped }, ...args.slice(1)];
      } else if (args[0] instanceof Query) {
        // A query object (pipelined()): node-postgres reads the timeout from the object itself.
        (args[0] as Query & { query_timeout?: number }).query_timeout ??= scoped;
      }
    }
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (err: unknown, result: unknown) => void;
      args[last] = (err: unknown, result: unknown) => {
        this.dropIfUnusable(err, named);
        callback(err, result);
      };
    }
    const result = (super.query as (...queryArgs: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((err: unknown) => this.dropIfUnusable(err, named));
    }
    return result as never;
  }

  /**
   * Ends the connection after a read timeout, or when a statement it named failed in a way that
   * leaves pg unsure of the connection's prepared statements (unsureOfPrepared).
   */
  private dropIfUnusable(err: unknown, named: boolean): void {
    if (
      (err instanceof Error && err.message === QUERY_READ_TIMEOUT_MESSAGE) ||
      (named && err != null && unsureOfPrepared(err))
    ) {
      destroyConnectionSocket(this);
    }
  }
}

/** A query config object (not a Submittable such as a cursor, which keeps its own prototype). */
function isPlainQueryConfig(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    typeof (value as { submit?: unknown }).submit !== 'function'
  );
}
