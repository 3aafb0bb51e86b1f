import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Documentation as a test fixture: the sections and fenced code blocks of a Markdown file, and a
 * bash session that runs those blocks one after another, the way a reader pastes them into one
 * terminal (variables and functions of one block are there for the next).
 */

/** One fenced code block: its info string's language, its text, and the line it starts on. */
export interface CodeBlock {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence in the Markdown file. */
  readonly line: number;
}

/**
 * The text of the section a heading opens (the heading line given exactly, e.g. `## Quick start`),
 * up to the next heading of the same or a higher level; fenced blocks do not end it. Throws when
 * the heading is missing or appears twice.
 */
export function markdownSection(markdown: string, heading: string): { text: string; line: number } {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  if (level === 0) throw new Error(`"${heading}" is not a Markdown heading`);
  const lines = markdown.split('\n');
  const starts = lines.flatMap((l, index) => (l.trimEnd() === heading ? [index] : []));
  if (starts.length !== 1) throw new Error(`expected one "${heading}", found ${starts.length}`);
  let end = lines.length;
  let fenced = false;
  for (let index = starts[0] + 1; index < lines.length; index++) {
    if (/^(```|~~~)/.test(lines[index])) fenced = !fenced;
    const match = /^(#+)\s/.exec(lines[index]);
    if (!fenced && match && match[1].length <= level) {
      end = index;
      break;
    }
  }
  return { text: lines.slice(starts[0], end).join('\n'), line: starts[0] + 1 };
}

/** The fenced blocks of `text` whose language is one of `langs` (all blocks when empty). */
export function codeBlocks(
  text: string,
  langs: readonly string[] = [],
  firstLine = 1,
): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const open = /^(```+|~~~+)\s*([\w+-]*)/.exec(lines[index]);
    if (!open) continue;
    const close = lines.findIndex((l, at) => at > index && l.trimEnd() === open[1]);
    if (close < 0) throw new Error(`unclosed code block at line ${firstLine + index}`);
    const lang = open[2];
    if (langs.length === 0 || langs.includes(lang)) {
      blocks.push({
        lang,
        code: lines.slice(index + 1, close).join('\n'),
        line: firstLine + index,
      });
    }
    index = close;
  }
  return blocks;
}

/** The bash/sh blocks of the sections `headings` of a Markdown file, in the order of the file. */
export function shellBlocksOf(file: string, headings: readonly string[]): CodeBlock[] {
  const markdown = readFileSync(file, 'utf8');
  return headings
    .map((heading) => markdownSection(markdown, heading))
    .sort((a, b) => a.line - b.line)
    .flatMap(({ text, line }) => codeBlocks(text, ['bash', 'sh'], line));
}

/** What one block printed. */
export interface BlockOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * One `bash` process that runs blocks in order, with `set -eo pipefail`: every command of a block
 * must succeed, as each block of the documentation must. A block that fails ends the session (as
 * `set -e` does) and `run` rejects with what it printed. Blocks read no stdin (/dev/null).
 */
export class BashSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly dir = mkdtempSync(join(tmpdir(), 'boards-doc-session-'));
  private readonly marker = `__block_done_${randomBytes(6).toString('hex')}__`;
  private stdout = '';
  private stderr = '';
  private count = 0;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private wake: (() => void) | undefined;

  constructor(options: { cwd: string; env: Record<string, string> }) {
    this.child = spawn('bash', ['--noprofile', '--norc'], {
      cwd: options.cwd,
      env: options.env,
      stdio: 'pipe',
    });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.wake?.();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake?.();
    });
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      this.wake?.();
    });
    this.child.stdin.write('set -eo pipefail\n');
  }

  /** Runs `code` as the next block (sourced, so its variables stay); rejects when it fails. */
  async run(code: string, timeoutMs = 60_000): Promise<BlockOutput> {
    const id = ++this.count;
    const file = join(this.dir, `block-${id}.sh`);
    writeFileSync(file, `${code}\n`);
    const done = `${this.marker}${id}`;
    const outStart = this.stdout.length;
    const errStart = this.stderr.length;
    if (this.exit) throw new Error(`the session has ended (${JSON.stringify(this.exit)})`);
    this.child.stdin.write(
      `source '${file}' </dev/null\nprintf '\\n%s\\n' '${done}'\nprintf '\\n%s\\n' '${done}' >&2\n`,
    );
    const deadline = Date.now() + timeoutMs;
    const finished = () =>
      this.stdout.includes(`\n${done}\n`, outStart) &&
      this.stderr.includes(`\n${done}\n`, errStart);
    while (!finished()) {
      const printed = () =>
        `stdout:\n${this.stdout.slice(outStart)}\nstderr:\n${this.stderr.slice(errStart)}`;
      const exit = this.ended();
      if (exit) {
        throw new Error(
          `block ${id} failed: bash exited with ${exit.code ?? exit.signal}\n${code}\n${printed()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`block ${id} did not finish in ${timeoutMs} ms\n${code}\n${printed()}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 1_000));
        this.wake = () => {
          clearTimeout(timer);
          wake();
        };
      });
      this.wake = undefined;
    }
    const cut = (text: string, start: number) => {
      const end = text.indexOf(`\n${done}\n`, start);
      return text.slice(start, end);
    };
    return { stdout: cut(this.stdout, outStart), stderr: cut(this.stderr, errStart) };
  }

  /** How bash ended, once it has. */
  private ended(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  /** The session's exported variables, as a command it ran would inherit them. */
  async environment(): Promise<Record<string, string>> {
    const file = join(this.dir, `env-${this.count + 1}`);
    await this.run(`env -0 > '${file}'`);
    const env: Record<string, string> = {};
    for (const entry of readFileSync(file, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  }

  /** Ends the session (its children that still run are not waited for) and removes its files. */
  async close(): Promise<void> {
    if (!this.exit) {
      const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
