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
