import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './http';

/**
 * A PostgreSQL cluster and a redis-server of a test's own, on free ports, that the test can really
 * stop and start again (the shared services of the machine are never touched). PostgreSQL's server
 * binaries come from `pg_config --bindir`; as root (CI) they run as the `postgres` OS user, since
 * initdb refuses to run as root.
 */

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function postgresBinary(name: string): string {
  const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  return join(bindir, name);
}

/** Runs a PostgreSQL server binary, as the postgres OS user when this process is root. */
function runAsPostgres(binary: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', binary, ...args]]
    : [binary, args];
  return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
}

export interface ThrowawayPostgres {
  readonly port: number;
  /** A URL for `user` (trust authentication) and `database`. */
  url(user: string, database: string): string;
  /** Runs SQL as the superuser `postgres` on `database`. */
  sql(database: string, statements: string[]): Promise<void>;
  /** `pg_ctl stop -m fast`: the server terminates every session and stops listening. */
  stop(): void;
  start(): void;
  /** Stops it (immediately) and removes its files. */
  destroy(): void;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'boards-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const idOf = (flag: string) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, idOf('-u'), idOf('-g'));
  }
  chmodSync(dir, 0o700);
  runAsPostgres(postgresBinary('initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=60',
  ].join(' ');
  const start = () => {
    runAsPostgres(postgresBinary('pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '30',
      'start',
    ]);
  };
  const stop = (mode: 'fast' | 'immediate') => {
    runAsPostgres(postgresBinary('pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
  };
  start();
  const url = (user: string, database: string) =>
    `postgresql://${user}@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async sql(database, statements) {
      const client = new Client({ connectionString: url('postgres', database) });
      await client.connect();
      try {
        for (const statement of statements) await client.query(statement);
      } finally {
        await client.end();
      }
    },
    stop: () => stop('fast'),
    start,
    destroy() {
      try {
        stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ThrowawayRedis {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`redis-server on ${port} did not start`);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop, destroy: stop };
}
