import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, cleanEnv, ensureBuilt, freePort } from 'test/support/http';

/**
 * `nest start` (and `npm run start:dev`, its watch mode) runs the compiled `entryFile` of
 * nest-cli.json: it must serve, as `npm start` does, not build and exit.
 */
describe('the entry file of nest start', () => {
  let workDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'boards-nest-start-'));
  }, 200_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('serves on the configured port until SIGTERM', async () => {
    const { entryFile } = JSON.parse(readFileSync(join(REPO_ROOT, 'nest-cli.json'), 'utf8')) as {
      entryFile: string;
    };
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', `${entryFile}.js`)], {
      cwd: workDir,
      env: cleanEnv({
        BOARDS_API_PORT: String(port),
        BOARDS_API_HOST: '127.0.0.1',
        BOARDS_EMBEDDED_DATA_DIR: join(workDir, 'pgdata'),
      }),
      stdio: 'pipe',
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      let status = 0;
      for (let tries = 0; tries < 240 && status !== 200; tries++) {
        if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
        status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
          async (response) => (await response.arrayBuffer(), response.status),
          () => 0,
        );
        if (status !== 200) await new Promise((done) => setTimeout(done, 250));
      }
      expect(status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
