import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { importCircles } from 'test/support/import-graph';

/**
 * The layering of DESIGN.md §1, kept by lint (eslint.boundaries.mjs): violations planted in
 * fixture texts must be refused, allowed imports must pass, the project's own ESLint
 * configuration must carry the rules, and the source has no import circle.
 */

const ROOT = join(__dirname, '..');

interface Planted {
  readonly filePath: string;
  readonly code: string;
}

/**
 * The no-restricted-imports and no-restricted-syntax messages for each planted text (eslint run
 * in a child process).
 */
function lint(planted: readonly Planted[]): string[][] {
  const output = execFileSync(process.execPath, [join(ROOT, 'test/support/lint-planted.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(planted),
    encoding: 'utf8',
  });
  return JSON.parse(output) as string[][];
}

const importing = (filePath: string, from: string): Planted => ({
  filePath: join(ROOT, filePath),
  code: `import { thing } from '${from}';\nexport const used = thing;\n`,
});

describe('layering rules (DESIGN.md §1)', () => {
  const cases: { name: string; planted: Planted; refused: RegExp | null }[] = [
    {
      name: 'core importing a feature',
      planted: importing('src/core/cache/planted.ts', 'src/modules/boards/boards.service'),
      refused: /core\/ never imports a feature/,
    },
    {
      name: 'core importing a feature by a relative path',
      planted: importing('src/core/cache/planted.ts', '../../modules/auth/user.entity'),
      refused: /core\/ never imports a feature/,
    },
    {
      name: 'common importing a feature',
      planted: importing('src/common/planted.ts', 'src/modules/tenants/tenant.entity'),
      refused: /core\/ never imports a feature/,
    },
    {
      name: 'core importing the application root',
      planted: importing('src/core/database/planted.ts', 'src/entities'),
      refused: /Only the bootstrap assembles/,
    },
    {
      name: 'a feature importing AppModule',
      planted: importing('src/modules/tenants/cli/planted.ts', 'src/app.module'),
      refused: /Only the bootstrap assembles/,
    },
    {
      name: "a feature importing another feature's repository it does not export",
      planted: importing('src/modules/boards/planted.ts', 'src/modules/tenants/members.repository'),
      refused: /only through what that feature's Nest module exports/,
    },
    {
      name: "a feature reaching another's files by a relative path",
      planted: importing('src/modules/boards/planted.ts', '../tenants/members.repository'),
      refused: /only through what that feature's Nest module exports/,
    },
    {
      name: "a feature importing another feature's Nest module",
      planted: importing('src/modules/boards/planted.ts', 'src/modules/tenants/tenants.module'),
      refused: null,
    },
    {
      name: 'a feature importing an exported provider of another',
      planted: importing('src/modules/boards/planted.ts', 'src/modules/audit/audit.service'),
      refused: null,
    },
    {
      name: 'a feature importing its own files',
      planted: importing('src/modules/boards/dto/planted.ts', '../boards.repository'),
      refused: null,
    },
    {
      name: "a library's private files outside driver-internals",
      planted: importing(
        'src/core/rate-limit/planted.ts',
        '@nestjs/throttler/dist/throttler.constants',
      ),
      refused: /driver-internals\.ts/,
    },
    {
      name: "Nest's helpers outside driver-internals",
      planted: importing(
        'src/modules/boards/planted.ts',
        '@nestjs/core/helpers/execution-context-host',
      ),
      refused: /driver-internals\.ts/,
    },
    {
      name: "a library's private files inside driver-internals",
      planted: importing('src/core/database/driver-internals.ts', '@nestjs/common/constants'),
      refused: null,
    },
    {
      name: 'plain SQL in a feature, outside the repository base',
      planted: {
        filePath: join(ROOT, 'src/modules/boards/planted.ts'),
        code: "export const read = (manager: { query(sql: string): unknown }) => manager.query('SELECT 1');\n",
      },
      refused: /only through TenantScopedRepository/,
    },
    {
      name: 'a query builder in a feature, outside the repository base',
      planted: {
        filePath: join(ROOT, 'src/modules/audit/planted.ts'),
        code: 'export const build = (m: { createQueryBuilder(): unknown }) => m.createQueryBuilder();\n',
      },
      refused: /only through TenantScopedRepository/,
    },
    {
      name: "the tenant transactions' read outside the repository base",
      planted: {
        filePath: join(ROOT, 'src/modules/boards/planted.ts'),
        code: 'export const r = (self: { transactions: { read(): unknown } }) => self.transactions.read();\n',
      },
      refused: /only through TenantScopedRepository/,
    },
    {
      name: 'plain SQL in an owner-level CLI tool (platform work, exempt)',
      planted: {
        filePath: join(ROOT, 'src/modules/tenants/cli/planted.ts'),
        code: "export const read = (owner: { query(sql: string): unknown }) => owner.query('SELECT 1');\n",
      },
      refused: null,
    },
    {
      name: "a pg pool's private field outside driver-internals",
      planted: {
        filePath: join(ROOT, 'src/core/http/planted.ts'),
        code: 'export const pool = (driver: { master: unknown }) => driver.master;\n',
      },
      refused: /driver-internals\.ts/,
    },
    {
      name: 'a class-name check outside driver-internals',
      planted: {
        filePath: join(ROOT, 'src/modules/health/planted.ts'),
        code: "export const isPool = (p: object) => p.constructor.name === 'Pool';\n",
      },
      refused: /driver-internals\.ts/,
    },
    {
      name: 'request scope anywhere',
      planted: {
        filePath: join(ROOT, 'src/modules/boards/planted.ts'),
        // Spelled in two parts so that this fixture is not itself a use of request scope.
        code: `import { Scope } from '@nestjs/common';\nexport const scope = Scope.${'REQUEST'};\n`,
      },
      refused: /No request scope/,
    },
  ];

  const results = lint(cases.map((c) => c.planted));

  it.each(cases.map((c, i) => [c.name, c.refused, results[i]] as const))(
    '%s',
    (_name, refused, messages) => {
      if (refused) {
        expect(messages).toHaveLength(1);
        expect(messages[0]).toMatch(refused);
      } else {
        expect(messages).toEqual([]);
      }
    },
  );

  it("the project's ESLint configuration applies the rules", () => {
    const printed = execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/eslint/bin/eslint.js'),
        '--print-config',
        'src/core/cache/tenant-cache.ts',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const rule = (JSON.parse(printed) as { rules: Record<string, unknown> }).rules[
      'no-restricted-imports'
    ];
    expect(JSON.stringify(rule)).toContain('src/modules/**');
  });

  it('the source has no import circle', () => {
    expect(importCircles(ROOT)).toEqual([]);
  });
});
