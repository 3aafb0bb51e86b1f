import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_LOCK_FILE, EmbeddedDatabaseLockedError, lockDataDir } from './data-dir-lock';

describe('lockDataDir', () => {
  let dir: string;
  const lockFile = () => join(dir, EMBEDDED_LOCK_FILE);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'boards-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes our pid and removes the file on release, leaving no temporary files', async () => {
    const release = await lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual([EMBEDDED_LOCK_FILE]);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a second open in the same process until the first is released', async () => {
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir)).rejects.toThrow(
      `the embedded database in ${dir} is already open in this process`,
    );
    release();
    const again = await lockDataDir(dir);
    again();
  });

  it('refuses while a live process holds the lock and leaves its lock in place', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(lockFile(), String(holder.pid));
      const error = await lockDataDir(dir).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(EmbeddedDatabaseLockedError);
      expect((error as EmbeddedDatabaseLockedError).holderPid).toBe(holder.pid);
      expect(readFileSync(lockFile(), 'utf8')).toBe(String(holder.pid));
    } finally {
      holder.kill();
    }
  });

  it('takes over the lock of a process that is gone', async () => {
    writeFileSync(lockFile(), '4194305'); // above pid_max: never a live process
    const release = await lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    expect(readdirSync(dir)).toEqual([EMBEDDED_LOCK_FILE]);
    release();
  });

  it('takes over a lock naming this process that this process did not take (a reused pid)', async () => {
    writeFileSync(lockFile(), String(process.pid));
    const release = await lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('waits for an empty lock file to be filled before it treats it as stale', async () => {
    writeFileSync(lockFile(), '');
    const started = Date.now();
    const release = await lockDataDir(dir);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release();
  });

  it('does not remove a lock another process took after ours was released', async () => {
    const release = await lockDataDir(dir);
    writeFileSync(lockFile(), '4194305');
    release();
    expect(readFileSync(lockFile(), 'utf8')).toBe('4194305');
  });
});
