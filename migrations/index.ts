import { InitialSchema1764201600000 } from './1764201600000-initial-schema';

/** Every migration in order. Listed explicitly so the compiled and the ts-jest runs agree. */
export const MIGRATIONS = [InitialSchema1764201600000];

/** The names recorded in the migrations table once each has run. */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map(
  (migration) => new migration().name,
);
