import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REFERENCE_BEGIN, REFERENCE_END, renderReference } from 'src/core/config/config-docs';
import { cleanEnv, ensureBuilt, expectExit, runCli } from 'test/support/http';

/**
 * `boards config docs` (compiled CLI, which loads @nestjs/config and with it dotenv): the reference
 * the table generates on a clean stdout, and `--update` rewriting only the marked section.
 */
describe('boards config docs (compiled CLI)', () => {
  let workDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-config-docs-'));
    // A .env file in the working directory is never read (nor logged about).
    writeFileSync(join(workDir, '.env'), 'BOARDS_API_PORT=not-a-port\n');
  }, 200_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('prints exactly the generated reference, and nothing else', async () => {
    const result = await runCli(['config', 'docs'], { cwd: workDir, env: cleanEnv() });
    expectExit(result, 0);
    expect(result.stdout).toBe(renderReference());
    expect(result.stderr).toBe('');
  });

  it('--update rewrites the section between the markers and keeps the prose around it', async () => {
    const file = join(workDir, 'configuration.md');
    const prose = ['# Configuration', '', 'Hand-written text.', ''];
    const after = ['', '## After', '', 'More hand-written text.', ''];
    writeFileSync(
      file,
      [...prose, REFERENCE_BEGIN, '| stale | table |', REFERENCE_END, ...after].join('\n'),
    );
    const first = await runCli(['config', 'docs', '--update', file], {
      cwd: workDir,
      env: cleanEnv(),
    });
    expectExit(first, 0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toBe(`updated ${file}\n`);
    const written = readFileSync(file, 'utf8');
    expect(written).toBe(
      [...prose, REFERENCE_BEGIN, '', renderReference(), REFERENCE_END, ...after].join('\n'),
    );

    const second = await runCli(['config', 'docs', '--update', file], {
      cwd: workDir,
      env: cleanEnv(),
    });
    expectExit(second, 0);
    expect(second.stderr).toBe(`${file} is up to date\n`);
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('refuses a document without the markers, leaving it as it was', async () => {
    const file = join(workDir, 'plain.md');
    writeFileSync(file, '# No markers here\n');
    const result = await runCli(['config', 'docs', '--update', file], {
      cwd: workDir,
      env: cleanEnv(),
    });
    expectExit(result, 1);
    expect(result.stderr).toMatch(/^boards: the document has no generated variable reference/);
    expect(readFileSync(file, 'utf8')).toBe('# No markers here\n');
  });
});
