import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TENANT_STATUSES } from 'src/core/context/records';
import {
  REPO_ROOT,
  cleanEnv,
  cliJson,
  ensureBuilt,
  expectExit,
  runCli,
  type CliResult,
} from 'test/support/http';

/**
 * The compiled CLI's option values: a value outside an option's choices, or a malformed lifetime
 * or claim, is refused while the options are parsed (before any configuration or database), with
 * one line on stderr and exit 1. And the documented ways (docs/operations.md, CLI) to run it through npm keep stdout clean
 * for `--output-format json`: `npm run -s boards -- …` (without -s, npm prints its
 * `> boards-api@… boards` banner on stdout) and `npx boards …`.
 */

/** `npm`/`npx` in the repository, to completion (exit code and output, never a rejection). */
function viaNpm(
  command: 'npm' | 'npx',
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  return new Promise((done) => {
    execFile(command, args, { cwd: REPO_ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ code, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

describe('boards option values (compiled CLI)', () => {
  // A database nobody listens on: a refusal that reached the configuration or a connection
  // would show up as a different error than the option's.
  const env = cleanEnv({
    BOARDS_DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/nothing',
    BOARDS_JWT_SECRET: 'cli-options-secret-cli-options-secret',
  });

  beforeAll(() => ensureBuilt(), 200_000);

  it.each([
    [['tenant', 'list', '--status', 'bogus'], `Allowed choices are ${TENANT_STATUSES.join(', ')}.`],
    [['tenant', 'list', '--output-format', 'xml'], 'Allowed choices are table, json.'],
    [['tenant', 'create', '--name', 'X', '--output-format', 'yaml'], "'--output-format <format>'"],
    [['tenant', 'suspend', 'acme', '--output-format', 'csv'], "'--output-format <format>'"],
    [['tenant', 'memberships', '--source', 'nope'], "option '--source <source>' argument 'nope'"],
    [['tenant', 'audit', '--output-format', 'JSON'], "'--output-format <format>'"],
    [['tenant', 'import', '--output-format', 'text'], "'--output-format <format>'"],
    [['migrate', 'status', '--output-format', 'yaml'], "'--output-format <format>'"],
    [['db', 'check', '--output-format', 'yaml'], "'--output-format <format>'"],
    [['auth', 'token', '--sub', 'x', '--ttl', '0'], "option '--ttl <duration>' argument '0'"],
    [['auth', 'token', '--sub', 'x', '--ttl', '2y'], 'Use a lifetime such as 90s, 30m, 1h or 7d'],
    [['auth', 'token', '--sub', 'x', '--claim', 'team'], 'Use key=value'],
  ])('boards %j exits 1 with one line', async (args, message) => {
    const result = await runCli(args, { env });
    expectExit(result, 1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^error: option '--[a-z-]+ <[a-z=]+>' argument/)]);
    expect(lines[0]).toContain(message);
  });

  describe('JSON through npm', () => {
    let dataDir: string;
    let embedded: Record<string, string>;

    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'boards-cli-options-'));
      embedded = cleanEnv({
        BOARDS_EMBEDDED_DATA_DIR: join(dataDir, 'pgdata'),
        BOARDS_ENVIRONMENT: 'development',
        BOARDS_LOG_LEVEL: 'silent',
      });
    });

    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('npm run -s boards -- … --output-format json prints only the JSON document', async () => {
      const args = ['tenant', 'list', '--status', 'active', '--output-format', 'json'];
      const result = await viaNpm('npm', ['run', '-s', 'boards', '--', ...args], embedded);
      expectExit(result, 0);
      const tenants = cliJson<{ slug: string; status: string }[]>(result);
      expect(tenants).toEqual([expect.objectContaining({ slug: 'default', status: 'active' })]);
    }, 90_000);

    it('npx boards … resolves the bin of this package and prints only the JSON document', async () => {
      const args = ['tenant', 'list', '--status', 'suspended', '--output-format', 'json'];
      // --no-install: never fetch a registry package of the same name.
      const result = await viaNpm('npx', ['--no-install', 'boards', ...args], embedded);
      expectExit(result, 0);
      expect(cliJson(result)).toEqual([]);
    }, 90_000);
  });
});
