/**
 * Loads @nestjs/common with its logger modules' date formatters deferred to their first use
 * (see intl-deferral.ts). The entry point imports this before anything else imports Nest; a
 * later import gets the module loaded here.
 */
import { withDeferredDateFormatters } from './intl-deferral';

// A require, not an import: imports run before this module's body, outside the deferral.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
withDeferredDateFormatters(() => require('@nestjs/common') as unknown);
