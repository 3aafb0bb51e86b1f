import type { DataSource } from 'typeorm';

/**
 * What a superuser runs once in the database so that board search can use its trigram indexes
 * under row-level security: the planner takes a search condition into an index only when its
 * function is LEAKPROOF, and ILIKE's is not marked so although it reveals nothing about a row but
 * its result. deploy/postgres-init.sql and k8s/cnpg-cluster.yaml carry this statement; the
 * migration runs it itself when the migrating role is a superuser.
 */
export const LEAKPROOF_ILIKE_SQL = 'ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF';

/** Whether board search can use its indexes here (ILIKE is LEAKPROOF). */
export async function searchUsesIndexes(dataSource: DataSource): Promise<boolean> {
  const [row] = (await dataSource.query(
    `SELECT proleakproof AS leakproof FROM pg_catalog.pg_proc
      WHERE oid = 'pg_catalog.texticlike(text, text)'::regprocedure`,
  )) as { leakproof: boolean }[];
  return row?.leakproof === true;
}
