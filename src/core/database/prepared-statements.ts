/** How many distinct statements are prepared by name; any further ones run unnamed. */
export const MAX_PREPARED_STATEMENTS = 200;
const preparedStatementNames = new Map<string, string>();

/**
 * The name `sql` is prepared under on every connection that runs it: one per distinct text, so the
 * same text always gets the same name (node-postgres parses a name once per connection and then
 * only binds). Reads (TenantTransactions.read) and the repositories' writes
 * (TenantTransactions.prepareStatement) name their statements here; statements are written in the
 * code, so there are few. Past MAX_PREPARED_STATEMENTS a text gets no name and is parsed and
 * planned on every run.
 */
export function preparedStatementName(
  sql: string,
  kind: 'read' | 'write' = 'read',
): string | undefined {
  let name = preparedStatementNames.get(sql);
  if (name === undefined && preparedStatementNames.size < MAX_PREPARED_STATEMENTS) {
    name = `boards_${kind}_${preparedStatementNames.size + 1}`;
    preparedStatementNames.set(sql, name);
  }
  return name;
}

/**
 * The name preparedStatementName gave `sql`, if it gave one (a lookup: it names nothing). The
 * server pools' client (GuardedPgClient) and a held transaction open (holdTransactionOpen) send a
 * statement that has one as a named prepared statement.
 */
export function namedStatement(sql: string): string | undefined {
  return preparedStatementNames.get(sql);
}

/**
 * The connection's copy of a prepared statement cannot run: PostgreSQL refuses a statement whose
 * result columns changed under it (0A000 from RevalidateCachedQuery, "cached plan must not change
 * result type", after a migration altered a column it reads), or pg believes a statement prepared
 * that the server dropped (26000, after pg closed it on a failed bind). Matched by code and
 * source routine, which stay the same whatever the server's lc_messages language. Such a
 * connection is dropped; a fresh one prepares the statement anew.
 */
export function hasUnusableStatement(err: unknown): boolean {
  const error = err as { code?: unknown; routine?: unknown } | undefined;
  return (
    (error?.code === '0A000' && error.routine === 'RevalidateCachedQuery') ||
    error?.code === '26000'
  );
}

/** A server error carries a SQLSTATE; a failure inside the driver (a value it cannot send) does not. */
export function hasSqlState(err: unknown): boolean {
  return typeof (err as { code?: unknown } | undefined)?.code === 'string';
}

/**
 * Whether a named statement that failed with `err` leaves node-postgres unsure of what the
 * connection holds: when the driver cannot send a value (no SQLSTATE) it has already written the
 * statement's Parse and answers with a Close of the name, so the server drops a statement pg may
 * still count as prepared. Such a connection is dropped, as one with an unusable statement is.
 */
export function unsureOfPrepared(err: unknown): boolean {
  return hasUnusableStatement(err) || !hasSqlState(err);
}
