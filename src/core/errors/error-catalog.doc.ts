import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_ERROR_CODES, ERROR_CATALOG } from './error-catalog';

/** Where the generated catalogue lives, relative to the repository root. */
export const ERROR_CATALOG_DOC = 'docs/errors.md';

/** The command that rewrites docs/errors.md from the catalogue. */
export const REGENERATE_ERROR_CATALOG_DOC = 'npm run docs:errors';

/** docs/errors.md: the error body, then every code of the catalogue as a table. */
export function renderErrorCatalog(): string {
  const rows = table([
    ['Code', 'Status', 'Meaning'],
    ...API_ERROR_CODES.map((code) => [
      `\`${code}\``,
      String(ERROR_CATALOG[code].status),
      ERROR_CATALOG[code].meaning,
    ]),
  ]);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/core/errors/error-catalog.ts; do not edit by hand. Regenerate with:',
    `     ${REGENERATE_ERROR_CATALOG_DOC} -->`,
    '',
    'Every error response has the same JSON body, in this key order:',
    '',
    '```json',
    '{',
    '  "error": "Conflict",',
    '  "code": "tenant_slug_taken",',
    '  "detail": "A tenant with slug \\"acme\\" already exists.",',
    '  "status": 409,',
    '  "request_id": "3f0e6c1e-5d1a-4f62-9a57-6f0f7d6b9d2a"',
    '}',
    '```',
    '',
    '- `error` is the short title of the HTTP status and `detail` one sentence for people; neither',
    '  is stable. Switch on `code`: a snake_case string that keeps its name and meaning once',
    '  published (new failures get new codes).',
    '- `request_id` is also in the `X-Request-Id` header; quote it when reporting a problem.',
    '- Some codes add documented fields after `request_id`: `multi_tenant_mode` and',
    '  `provided_tenant` (`tenant_required`, `invalid_tenant_header`), `quota` and `limit`',
    '  (`quota_exceeded`), `limit` (`rate_limited`: which limit).',
    '- 5xx bodies carry a generic detail; a 500 always has the code `internal_error` (the cause',
    '  goes to the server log under the request id). 429 and 503 answers carry `Retry-After`.',
    '',
    'The OpenAPI document (`/api/openapi.json`, committed as `openapi.json`) lists, for each',
    'route and status, the codes that route can answer, with `code` as an enum of them, so a',
    'generated client can `switch (error.code)`. Codes the server gives before a request reaches',
    'a route are not listed per route: `route_not_found`, `malformed_url`, `malformed_request`,',
    '`uri_too_long`, `path_parameter_too_long`, `headers_too_large`, `request_timeout`, and the',
    "framework's fallbacks `bad_request`, `unauthenticated`, `forbidden` and `internal_error`.",
    '',
    ...rows,
    '',
  ].join('\n');
}

/** A Markdown table with its columns padded as Prettier pads them (the first row is the header). */
function table(cells: string[][]): string[] {
  const widths = cells[0].map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [
    line(cells[0]),
    line(widths.map((width) => '-'.repeat(width))),
    ...cells.slice(1).map(line),
  ];
}

/** Writes docs/errors.md under `root` (the repository). */
export function writeErrorCatalog(root: string): string {
  const file = join(root, ERROR_CATALOG_DOC);
  writeFileSync(file, renderErrorCatalog());
  return file;
}

// `node dist/src/core/errors/error-catalog.doc.js` from the repository root.
if (require.main === module) {
  process.stdout.write(`wrote ${writeErrorCatalog(process.cwd())}\n`);
}
