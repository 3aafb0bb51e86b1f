import type { PoolClient } from 'pg';

/**
 * Records on `client`'s connection, in order, each socket flush ('flush') and each ReadyForQuery
 * answer ('ready') into `events`, until the returned function is called: a round trip is a flush
 * followed by the answers it asked for. Reads node-postgres' `connection` and its socket's
 * `_write`/`_writev` (the fields the driver-internals tests check).
 */
export function recordRoundTrips(client: PoolClient, events: string[]): () => void {
  const connection = (
    client as unknown as { connection: NodeJS.EventEmitter & { stream: Record<string, unknown> } }
  ).connection;
  const { stream } = connection;
  const originals = { _write: stream._write, _writev: stream._writev };
  for (const key of ['_write', '_writev'] as const) {
    const original = originals[key] as ((...args: unknown[]) => unknown) | undefined;
    if (!original) continue;
    stream[key] = function (this: unknown, ...args: unknown[]) {
      events.push('flush');
      return original.apply(this, args);
    };
  }
  const onReady = () => events.push('ready');
  connection.on('readyForQuery', onReady);
  return () => {
    Object.assign(stream, originals);
    connection.off('readyForQuery', onReady);
  };
}
