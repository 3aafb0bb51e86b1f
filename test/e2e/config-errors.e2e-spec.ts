import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ensureBuilt, expectExit, freePort, runCli } from 'test/support/http';

/**
 * The compiled `boards` command with several bad settings: every one is printed, one line each
 * naming its variable, and the command exits 78 (EX_CONFIG) before it opens anything.
 */
describe('several bad settings are reported at once (compiled CLI)', () => {
  let workDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-config-errors-'));
  }, 200_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it.each([['serve'], ['db check']])('boards %s prints both and exits 78', async (command) => {
    const result = await runCli(command.split(' '), {
      cwd: workDir,
      env: cleanEnv({
        BOARDS_EMBEDDED_DATA_DIR: join(workDir, 'pgdata'),
        BOARDS_API_HOST: '127.0.0.1',
        BOARDS_API_PORT: String(await freePort()),
        BOARDS_DATABASE_POOL_SIZE: '0',
        BOARDS_LOG_LEVEL: 'verbose',
      }),
      timeoutMs: 20_000,
    });
    expectExit(result, 78);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      'boards: configuration error: BOARDS_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      'boards: configuration error: BOARDS_DATABASE_POOL_SIZE: must be between 1 and 500, got 0',
      '',
    ]);
    // Refused before anything was opened: no data folder was created.
    expect(existsSync(join(workDir, 'pgdata'))).toBe(false);
  });
});
