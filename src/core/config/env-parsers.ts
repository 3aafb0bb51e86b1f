/**
 * Small, strict parsers for environment values. A bad value is recorded as a problem naming the
 * variable, what is wrong and what is allowed, and the reader goes on with the fallback, so one
 * run reports every bad setting (loadConfig throws them together as one ConfigError).
 */

/** One bad setting: the variable and what is wrong with it (and what is allowed). */
export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
}

/** One or more bad settings; the message has one `VARIABLE: problem` line for each. */
export class ConfigError extends Error {
  /** Every problem, one line each (`VARIABLE: problem`), in the order they were found. */
  readonly problems: readonly string[];
  /** The first problem's variable (the only one when a single setting is at fault). */
  readonly variable: string;
  readonly problem: string;

  constructor(variable: string, problem: string);
  constructor(problems: readonly [ConfigProblem, ...ConfigProblem[]]);
  constructor(first: string | readonly [ConfigProblem, ...ConfigProblem[]], problem = '') {
    const all = typeof first === 'string' ? [{ variable: first, problem }] : first;
    // A value quoted in a problem may hold a line break; each problem stays on one line.
    const lines = all.map((p) => `${p.variable}: ${p.problem}`.replace(/\r?\n|\r/g, '\\n'));
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.problems = lines;
    this.variable = all[0].variable;
    this.problem = all[0].problem;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  private readonly found: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  /** Records a bad setting; loadConfig reports all of them at the end (see throwIfProblems). */
  report(variable: string, problem: string): void {
    this.found.push({ variable, problem });
  }

  /**
   * Whether none of these variables has a problem: a check across settings runs only then, so a
   * bad value is reported once rather than again through the fallback that replaced it.
   */
  valid(...variables: string[]): boolean {
    return !this.found.some((p) => variables.includes(p.variable));
  }

  /** Throws one ConfigError listing every problem recorded so far, if any. */
  throwIfProblems(): void {
    const [first, ...rest] = this.found;
    if (first) throw new ConfigError([first, ...rest]);
  }

  /** The raw value, or undefined when unset or blank. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lowered = value.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lowered)) return true;
    if (['false', '0', 'no', 'off'].includes(lowered)) return false;
    this.report(name, `expected true or false, got "${value}"`);
    return fallback;
  }

  int(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      this.report(name, `expected a whole number, got "${value}"`);
      return fallback;
    }
    const parsed = Number(value);
    if (parsed < range.min || parsed > range.max) {
      this.report(name, `must be between ${range.min} and ${range.max}, got ${parsed}`);
      return fallback;
    }
    return parsed;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lowered = value.toLowerCase() as T;
    if (!allowed.includes(lowered)) {
      this.report(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
      return fallback;
    }
    return lowered;
  }

  /** Comma-separated list; blank entries dropped. */
  list(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }

  /** A URL of one of these schemes; undefined when unset or bad (reported). */
  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    return this.checkUrl(name, value, protocols) ? value : undefined;
  }

  /** A list of URLs; each bad entry is reported and left out. */
  urlList(name: string, protocols: readonly string[]): string[] {
    return this.list(name).filter((value) => this.checkUrl(name, value, protocols));
  }

  private checkUrl(name: string, value: string, protocols: readonly string[]): boolean {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.report(name, `expected a URL, got "${redactUrl(value)}"`);
      return false;
    }
    const protocol = parsed.protocol.replace(/:$/, '');
    if (!protocols.includes(protocol)) {
      this.report(name, `expected a ${protocols.join(' or ')} URL, got scheme "${protocol}"`);
      return false;
    }
    return true;
  }
}

/** Hides a password in a URL before it is printed. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:/@]*):[^/]*@/i, '$1$2:***@');
}
