import { InitialSchema1764201600000 } from './1764201600000-initial-schema';
import { UserChangeLog1764806400000 } from './1764806400000-user-change-log';
import { MemberLookupCoveringIndex1764892800000 } from './1764892800000-member-lookup-covering-index';
import { ExplicitAdmission1765065600000 } from './1765065600000-explicit-admission';
import { RegistryWriteFunctions1765152000000 } from './1765152000000-registry-write-functions';
import { Fairness1765238400000 } from './1765238400000-fairness';
import { TenantDatabases1765411200000 } from './1765411200000-tenant-databases';

/** Every migration in order. Listed explicitly so the compiled and the ts-jest runs agree. */
export const MIGRATIONS = [
  InitialSchema1764201600000,
  UserChangeLog1764806400000,
  MemberLookupCoveringIndex1764892800000,
  ExplicitAdmission1765065600000,
  RegistryWriteFunctions1765152000000,
  Fairness1765238400000,
  TenantDatabases1765411200000,
];

/** The names recorded in the migrations table once each has run. */
export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map(
  (migration) => new migration().name,
);
