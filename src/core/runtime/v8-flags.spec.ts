import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENTRY, cleanEnv, ensureBuilt, REPO_ROOT } from 'test/support/http';
import { SERVER_V8_FLAGS } from './v8-flags';

/**
 * Checked in V8 itself: a plain `node --trace-pretenuring-statistics` prints each allocation
 * site's pretenuring decision. A workload whose objects outlive young collections (as a
 * request's rows do while it is in flight) gets its sites switched to the old generation ("=>
 * tenure") unless the server's flags are set, and then V8 makes no decision at all.
 */
describe('the V8 options boards serve sets', () => {
  beforeAll(() => ensureBuilt(), 240_000);

  function pretenuringDecisions(apply: boolean): string[] {
    const flags = JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'core', 'runtime', 'v8-flags.js'));
    const script = `
      if (${apply}) require(${flags}).applyServerV8Flags();
      function row(i) { return { id: i, title: 'board ' + i, tags: [i] }; }
      let inFlight = [];
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 20000; i++) inFlight.push(row(i));
        if (inFlight.length > 200000) inFlight = inFlight.slice(100000);
      }`;
    const run = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    return run.stdout.split('\n').filter((line) => line.includes('pretenuring:'));
  }

  it('switch off allocation-site pretenuring (without them, V8 pretenures this workload)', () => {
    expect(
      pretenuringDecisions(false).filter((line) => line.includes('=> tenure')).length,
    ).toBeGreaterThan(0);
    expect(pretenuringDecisions(true)).toEqual([]);
  }, 120_000);

  it('are set by boards serve itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'boards-v8-flags-'));
    // A preload that reports every V8 option the process sets, then lets it through.
    const preload = join(dir, 'report-flags.js');
    writeFileSync(
      preload,
      `const v8 = require('node:v8');
       const set = v8.setFlagsFromString;
       v8.setFlagsFromString = (flag) => { process.stderr.write('V8 OPTION ' + flag + '\\n'); set(flag); };`,
    );
    const child = spawn(process.execPath, ['-r', preload, CLI_ENTRY, 'serve'], {
      cwd: REPO_ROOT,
      env: cleanEnv({ BOARDS_API_PORT: '0', BOARDS_EMBEDDED_DATA_DIR: join(dir, 'pgdata') }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      const options = () => [...stderr.matchAll(/^V8 OPTION (.*)$/gm)].map((match) => match[1]);
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no options within 30 s:\n${stderr}`)),
          30_000,
        );
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (options().length >= SERVER_V8_FLAGS.length) {
            clearTimeout(timer);
            done();
          }
        });
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
      });
      expect(options()).toEqual([
        expect.stringMatching(/^--heap-growing-percent=\d+$/),
        '--no-allocation-site-pretenuring',
      ]);
      expect(options()).toEqual(SERVER_V8_FLAGS);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((done) => child.once('exit', done));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
