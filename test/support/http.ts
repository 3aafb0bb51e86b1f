import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppOptions } from 'src/app.module';
import type { BoardsConfig } from 'src/core/config/boards-config';
import { ERROR_CATALOG, type ApiErrorCode } from 'src/core/errors/error-catalog';

/** An application built by createApp and listening on 127.0.0.1 on a free port. */
export interface RunningApp {
  readonly app: NestFastifyApplication;
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** `options.databaseTarget` shares a test database's open target (needed for the embedded one). */
export async function startApp(
  config: BoardsConfig,
  options: AppOptions = {},
): Promise<RunningApp> {
  // Loaded here, so the suites that only spawn the compiled CLI do not compile the whole app.
  const { createApp } = await import('src/main');
  const app = await createApp(config, options);
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** A JSON GET: status, headers and the parsed body. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as T };
}

// ---- the compiled `boards` command, as `npm start` runs it -------------------------------------

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const CLI_ENTRY = join(REPO_ROOT, 'dist', 'src', 'cli.js');

/**
 * Builds dist/ once when it is missing (the README's test command builds before Jest). Parallel
 * workers take turns through a lock folder so two `nest build` runs never race on dist/.
 */
export async function ensureBuilt(timeoutMs = 180_000): Promise<void> {
  if (existsSync(CLI_ENTRY)) return;
  const lock = join(tmpdir(), `boards-build-${Buffer.from(REPO_ROOT).toString('hex')}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(CLI_ENTRY)) return;
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for another build`);
      await new Promise((done) => setTimeout(done, 500));
    }
  }
  try {
    if (existsSync(CLI_ENTRY)) return;
    const build = spawnSync('npm', ['run', 'build', '--silent'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (build.status !== 0 || !existsSync(CLI_ENTRY)) {
      throw new Error(`npm run build failed (${build.status}): ${build.stdout}${build.stderr}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The test runner's environment without any BOARDS_* variable (nor NODE_ENV, which Jest sets). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('BOARDS_') || name === 'NODE_ENV') continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/src/cli.js <args>` to completion. */
export function runCli(
  args: string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`boards ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

/** What `call` sends besides the method and path. */
export interface CallOptions {
  /** Bearer token; none sends no Authorization header. */
  readonly token?: string;
  /** The X-Tenant header: which of the caller's tenants the request is for. */
  readonly tenant?: string;
  /** Sent as JSON with Content-Type application/json. */
  readonly body?: unknown;
  /** Extra request headers; they win over the ones set from the options above. */
  readonly headers?: Record<string, string>;
}

/** One answer of `call`. */
export interface Reply<T> {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed body when the answer is JSON; undefined when it is empty (204) or not JSON. */
  readonly body: T;
  /** The body as received (for answers that are not JSON, and for scans of what was sent). */
  readonly text: string;
}

/** One HTTP request to a running app: `call(server, 'POST', '/api/boards', { token, body })`. */
export async function call<T = Record<string, unknown>>(
  server: Pick<RunningApp, 'baseUrl'>,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = {
    ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
    ...(options.tenant !== undefined && { 'x-tenant': options.tenant }),
    ...(options.body !== undefined && { 'content-type': 'application/json' }),
    ...options.headers,
  };
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const json = text !== '' && /\bjson\b/.test(response.headers.get('content-type') ?? '');
  return {
    status: response.status,
    headers: response.headers,
    body: (json ? JSON.parse(text) : undefined) as T,
    text,
  };
}

/** Fails with what the command printed when its exit code is not `code`. */
export function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) {
    throw new Error(`expected exit ${code}, got ${result.code}:\n${result.stdout}${result.stderr}`);
  }
}

/** The command's stdout as one JSON document (fails with what it printed otherwise). */
export function cliJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}): ${result.stdout}${result.stderr}`);
  }
}

/**
 * The documented error body `{error, code, detail, status, request_id}` (plus `extra` fields),
 * with the request id of the response's X-Request-Id header. `code` must be the exact catalogued
 * code (src/core/errors/error-catalog.ts), whose status is `status`.
 */
export function expectError(
  reply: Pick<Reply<unknown>, 'status' | 'headers' | 'body'>,
  status: number,
  error: string,
  code: ApiErrorCode,
  detail: string | RegExp = /./,
  extra: Record<string, unknown> = {},
): void {
  expect({ code, status: ERROR_CATALOG[code].status }).toEqual({ code, status });
  expect({ status: reply.status, body: reply.body }).toEqual({
    status,
    body: {
      error,
      code,
      detail: typeof detail === 'string' ? detail : expect.stringMatching(detail),
      status,
      request_id: reply.headers.get('x-request-id'),
      ...extra,
    },
  });
}
