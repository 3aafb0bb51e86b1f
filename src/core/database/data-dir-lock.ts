import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The lock file in the data folder: the pid of the one process that has it open. */
export const EMBEDDED_LOCK_FILE = 'boards.lock';

/** Another live process (or this one) has the data folder open (a running `boards serve`, most likely). */
export class EmbeddedDatabaseLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      holderPid === process.pid
        ? `the embedded database in ${dataDir} is already open in this process`
        : `the embedded database in ${dataDir} is in use by process ${holderPid} (a running "boards serve"?): stop that process first, or make the change through its API`,
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

/** Folders this process holds: its own pid in a lock file it does not hold is a reused pid. */
const heldHere = new Set<string>();

/** How long a lock file without a pid (written by a crashed older version) is waited for. */
const UNREADABLE_GRACE_MS = 1_000;
const RETRY_MS = 50;
const MAX_ATTEMPTS = 40;

/**
 * Takes the data folder's lock for this process and returns its release function.
 *
 * The lock file appears with its pid already in it (written to a private file, then hard-linked
 * into place: the link fails if a lock exists), so no reader ever sees a half-written lock. A lock
 * whose process is gone (a crash) is moved aside under a unique name and the take retried; if the
 * file moved aside turns out to be a live holder's (it replaced the stale one in between), it is
 * put back. A lock naming this process that this process did not take is a reused pid (a
 * container restart keeps pid 1), so it is stale too.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const dir = resolve(dataDir);
  if (heldHere.has(dir)) throw new EmbeddedDatabaseLockedError(dir, process.pid);
  const path = join(dir, EMBEDDED_LOCK_FILE);
  const unreadableSince = new Map<string, number>();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(path)) return holdUntilReleased(dir, path);
    const holder = readHolder(path);
    if (holder === 'gone') continue; // released between our try and our read
    if (holder === 'unreadable') {
      const since = unreadableSince.get(path) ?? Date.now();
      unreadableSince.set(path, since);
      if (Date.now() - since < UNREADABLE_GRACE_MS) {
        await sleep(RETRY_MS);
        continue;
      }
      moveAsideIfStale(path, dir);
      continue;
    }
    if (isLiveHolder(holder)) throw new EmbeddedDatabaseLockedError(dir, holder);
    moveAsideIfStale(path, dir);
  }
  throw new Error(`could not take the lock ${path}: it kept changing hands`);
}

function tryCreate(path: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(temp, String(process.pid), { flag: 'wx' });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function readHolder(path: string): number | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return 'unreadable';
  }
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return 'unreadable';
  return Number(text);
}

/** Moves the lock aside; puts it back if it names a live holder (it was replaced meanwhile). */
function moveAsideIfStale(path: string, dir: string): void {
  const aside = `${path}.stale.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const holder = readHolder(aside);
  if (typeof holder === 'number' && isLiveHolder(holder)) {
    try {
      linkSync(aside, path);
    } catch {
      // A third process took the lock meanwhile: it is the holder now.
    }
    unlinkSync(aside);
    throw new EmbeddedDatabaseLockedError(dir, holder);
  }
  unlinkSync(aside);
}

function isLiveHolder(pid: number): boolean {
  if (pid === process.pid) return false; // not held here (checked first): a reused pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holdUntilReleased(dir: string, path: string): () => void {
  heldHere.add(dir);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldHere.delete(dir);
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return release;
}
