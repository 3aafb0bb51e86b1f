import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownSection } from 'test/support/doc-blocks';
import { REPO_ROOT, cleanEnv, ensureBuilt, type CliResult } from 'test/support/http';

/**
 * The ways the documentation tells a reader to run the `boards` command (README "First calls" and
 * docs/operations.md "CLI") keep stdout clean: `--output-format json` prints one JSON document
 * that parses, and `auth token` prints the token alone, so `TOKEN=$(…)` works. Each documented
 * form is read from the docs and run through bash from the repository's root, as a reader would.
 * `npm run boards -- …` without --silent is the counter-example the docs warn about (npm's banner
 * goes to stdout). Without dist/, bin/boards says to build instead of printing a stack.
 */

/** A documented way to run the CLI, as written in backticks, e.g. `npm run -s boards -- …`. */
const INVOCATION =
  /`((?:npx boards|npm run (?:-s|--silent) boards --|node dist\/src\/cli\.js))(?: …)?`/g;

function documentedInvocations(file: string, heading: string): string[] {
  const { text } = markdownSection(readFileSync(join(REPO_ROOT, file), 'utf8'), heading);
  return [...text.matchAll(INVOCATION)].map((match) => match[1]);
}

function bash(command: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: REPO_ROOT, env, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, signal: err?.signal ?? null, stdout, stderr });
      },
    );
  });
}

describe('the documented ways to run the boards CLI print clean stdout', () => {
  const readme = documentedInvocations('README.md', '## First calls');
  const operations = documentedInvocations('docs/operations.md', '## CLI');
  const invocations = [...new Set([...readme, ...operations])];
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'boards-readme-cli-'));
    env = cleanEnv({
      BOARDS_EMBEDDED_DATA_DIR: join(dataDir, 'pgdata'),
      BOARDS_LOG_LEVEL: 'silent',
      BOARDS_AUTH_PROVIDER: 'jwt',
      BOARDS_JWT_SECRET: 'readme-cli-output-secret-0123456789abcdef',
      // npx may only run this checkout's bin, never fetch a registry package named `boards`.
      npm_config_offline: 'true',
    });
  }, 200_000);

  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('README and docs/operations.md name npx and npm run --silent', () => {
    expect(readme).toEqual(
      expect.arrayContaining([
        'npx boards',
        expect.stringMatching(/^npm run (-s|--silent) boards --$/),
      ]),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'npx boards',
        expect.stringMatching(/^npm run (-s|--silent) boards --$/),
      ]),
    );
  });

  it.each(invocations)(
    '%s … --output-format json: stdout is one JSON document',
    async (prefix) => {
      const result = await bash(`${prefix} tenant list --output-format json`, env);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      const tenants = JSON.parse(result.stdout) as { slug: string }[];
      expect(tenants).toEqual([expect.objectContaining({ slug: 'default' })]);
    },
    120_000,
  );

  it.each(invocations)(
    'TOKEN=$(%s auth token …) holds the token alone',
    async (prefix) => {
      const result = await bash(
        `TOKEN=$(${prefix} auth token --sub alice --email alice@example.com) && printf '%s' "$TOKEN"`,
        env,
      );
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    },
    120_000,
  );

  it('npm run boards -- … without --silent puts npm’s banner before the document (why the docs say --silent)', async () => {
    const result = await bash('npm run boards -- tenant list --output-format json', env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s*> boards-api@[^\n]* boards\n/);
    expect(() => JSON.parse(result.stdout) as unknown).toThrow();
  }, 120_000);

  it('bin/boards without a build says to run npm run build, in one line and exit 1', async () => {
    const checkout = join(dataDir, 'checkout');
    mkdirSync(join(checkout, 'bin'), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'bin', 'boards'), join(checkout, 'bin', 'boards'));
    const result = await bash(`node '${join(checkout, 'bin', 'boards')}' --help`, env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^boards: .*dist\/src\/cli\.js.*npm run build/),
    ]);
  });
});
