import { Client } from 'pg';

/** node-postgres' error when a query got no answer within `query_timeout`. */
export const QUERY_READ_TIMEOUT_MESSAGE = 'Query read timeout';

/** How much longer than the statement timeout the client waits for an answer. */
export const QUERY_READ_TIMEOUT_MARGIN_MS = 5_000;

interface ConnectedClient {
  connection?: { stream?: { destroy(): void } };
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
 */
export class GuardedPgClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    this.on('error', () => undefined);
  }

  // node-postgres' overloads (promise, callback, submittable) are passed through unchanged.
  override query(...args: unknown[]): never {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (err: unknown, result: unknown) => void;
      args[last] = (err: unknown, result: unknown) => {
        this.dropIfTimedOut(err);
        callback(err, result);
      };
    }
    const result = (super.query as (...queryArgs: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((err: unknown) => this.dropIfTimedOut(err));
    }
    return result as never;
  }

  private dropIfTimedOut(err: unknown): void {
    if (err instanceof Error && err.message === QUERY_READ_TIMEOUT_MESSAGE) {
      (this as unknown as ConnectedClient).connection?.stream?.destroy();
    }
  }
}
