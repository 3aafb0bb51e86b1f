/**
 * Loads TypeORM and class-validator with the modules `boards serve` never calls deferred to their
 * first use (see deferred-requires.ts). The entry point imports this before anything else
 * imports either library; a later import gets the modules loaded here. About 1.7 MB of source
 * text, which V8 keeps in the heap of every process:
 * - TypeORM's DriverFactory requires all seventeen of its drivers (MySQL, SQL Server, Oracle,
 *   SAP HANA, Spanner, SQLite, MongoDB and the rest) to create one; the service runs on PostgreSQL
 *   (the embedded database included), so every driver but `postgres` waits to be created.
 * - class-validator's IsPhoneNumber requires libphonenumber-js with its full metadata; no DTO
 *   validates a phone number.
 */
import { withDeferredRequires, type DeferredRequire } from './deferred-requires';

export const SERVE_DEFERRED_REQUIRES: readonly DeferredRequire[] = [
  {
    from: /\/node_modules\/typeorm\/driver\/DriverFactory\.js$/,
    request: /^\.\/(?!postgres\/)[\w-]+\/\w+Driver$/,
  },
  {
    from: /\/node_modules\/class-validator\/cjs\/decorator\/string\/IsPhoneNumber\.js$/,
    request: /^libphonenumber-js\/max$/,
  },
];

// Requires, not imports: imports run before this module's body, outside the deferral.
withDeferredRequires(SERVE_DEFERRED_REQUIRES, () => {
  /* eslint-disable @typescript-eslint/no-require-imports -- see above */
  require('typeorm');
  require('class-validator');
  /* eslint-enable @typescript-eslint/no-require-imports */
});
