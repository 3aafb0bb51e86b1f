import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI_ENTRY, REPO_ROOT } from './http';

/** `node dist/src/cli.js serve` as a child process, with what it printed. */
export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly baseUrl: string;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process is still running. */
  alive(): boolean;
}

export function spawnServer(env: Record<string, string>, port: number): ServerProcess {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve'], {
    cwd: REPO_ROOT,
    env: { ...env, BOARDS_API_PORT: String(port), BOARDS_API_HOST: '127.0.0.1' },
    stdio: 'pipe',
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** Polls /health/ready until 200; fails with the server's output when it exits or times out. */
export async function waitUntilReady(server: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (!server.alive()) throw new Error(`server exited before it was ready:\n${server.output()}`);
    try {
      const response = await fetch(`${server.baseUrl}/health/ready`);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${server.output()}`);
}

/** SIGKILL, for cleanup. */
export async function killServer(server: ServerProcess | undefined): Promise<void> {
  if (!server?.alive()) return;
  server.child.kill('SIGKILL');
  await server.exited;
}
