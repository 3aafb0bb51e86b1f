import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from 'test/support/http';

/**
 * A throw-away folder in which a TypeScript client is generated from a served OpenAPI document
 * (openapi-typescript), the lifecycle program (lifecycle.mts, beside this file) is type-checked
 * against it with the TypeScript compiler and then run with Node against the server. Each tool
 * runs as a child process: openapi-typescript and openapi-fetch are ES modules, which Jest's
 * CommonJS runtime cannot load, and a child process is also how a client project would use them.
 */

export const LIFECYCLE_PROGRAM = join(__dirname, 'lifecycle.mts');
const NODE_MODULES = join(REPO_ROOT, 'node_modules');

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <script> <args>` to completion. */
export function runNode(
  script: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<ProcessResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`node ${script} ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

export class SdkWorkspace {
  private constructor(readonly dir: string) {}

  /** A temporary folder that resolves packages from the repository's node_modules. */
  static create(): SdkWorkspace {
    const dir = mkdtempSync(join(tmpdir(), 'boards-sdk-'));
    symlinkSync(NODE_MODULES, join(dir, 'node_modules'), 'dir');
    return new SdkWorkspace(dir);
  }

  /**
   * openapi-typescript: `paths`, `components` and `operations` types from the document at `url`.
   * By default it types every property with a schema default as required, which would make
   * request fields such as is_public mandatory; `--default-non-nullable false` keeps them optional.
   */
  async generateTypes(url: string): Promise<string> {
    const output = join(this.dir, 'openapi-schema.d.ts');
    const result = await runNode(
      join(NODE_MODULES, 'openapi-typescript', 'bin', 'cli.js'),
      [url, '--output', output, '--default-non-nullable', 'false'],
      { cwd: this.dir },
    );
    if (result.code !== 0) {
      throw new Error(
        `openapi-typescript failed (${result.code}): ${result.stdout}${result.stderr}`,
      );
    }
    return output;
  }

  /**
   * Copies the lifecycle program in and compiles it with `tsc` (strict, Node ESM). Returns the
   * compiler's diagnostics and exit code; on success the program is in `out/lifecycle.mjs`.
   */
  async compileLifecycle(): Promise<ProcessResult> {
    copyFileSync(LIFECYCLE_PROGRAM, join(this.dir, 'lifecycle.mts'));
    writeFileSync(
      join(this.dir, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2023'],
            types: ['node'],
            strict: true,
            noUnusedLocals: true,
            exactOptionalPropertyTypes: false,
            skipLibCheck: false,
            outDir: 'out',
          },
          files: ['lifecycle.mts', 'openapi-schema.d.ts'],
        },
        null,
        2,
      ),
    );
    return runNode(join(NODE_MODULES, 'typescript', 'bin', 'tsc'), ['-p', 'tsconfig.json'], {
      cwd: this.dir,
      timeoutMs: 90_000,
    });
  }

  /** Runs the compiled lifecycle program; it prints one JSON summary on stdout. */
  runLifecycle(env: Record<string, string>): Promise<ProcessResult> {
    return runNode(join(this.dir, 'out', 'lifecycle.mjs'), [], { cwd: this.dir, env });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Problems @redocly/cli reports for a document (the repository's redocly.yaml). */
export interface LintProblem {
  readonly ruleId: string;
  readonly severity: 'error' | 'warn';
  readonly message: string;
  readonly location: { pointer: string }[];
}

export async function lintOpenApi(documentFile: string): Promise<LintProblem[]> {
  const result = await runNode(
    join(NODE_MODULES, '@redocly', 'cli', 'bin', 'cli.js'),
    ['lint', documentFile, '--config', join(REPO_ROOT, 'redocly.yaml'), '--format', 'json'],
    {
      cwd: REPO_ROOT,
      env: { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
  const start = result.stdout.indexOf('{');
  if (start < 0)
    throw new Error(`redocly lint printed no report: ${result.stdout}${result.stderr}`);
  return (JSON.parse(result.stdout.slice(start)) as { problems: LintProblem[] }).problems;
}
