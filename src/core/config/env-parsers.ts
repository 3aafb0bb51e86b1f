/**
 * Small, strict parsers for environment values. Each throws a ConfigError naming the variable and
 * what is wrong, so a bad value stops the process with one readable line.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  constructor(private readonly env: Env) {}

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
    throw new ConfigError(name, `expected true or false, got "${value}"`);
  }

  int(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      throw new ConfigError(name, `expected a whole number, got "${value}"`);
    }
    const parsed = Number(value);
    if (parsed < range.min || parsed > range.max) {
      throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${parsed}`);
    }
    return parsed;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const lowered = value.toLowerCase() as T;
    if (!allowed.includes(lowered)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
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

  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    assertUrl(name, value, protocols);
    return value;
  }

  urlList(name: string, protocols: readonly string[]): string[] {
    const values = this.list(name);
    for (const value of values) assertUrl(name, value, protocols);
    return values;
  }
}

function assertUrl(name: string, value: string, protocols: readonly string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `expected a URL, got "${redactUrl(value)}"`);
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (!protocols.includes(protocol)) {
    throw new ConfigError(
      name,
      `expected a ${protocols.join(' or ')} URL, got scheme "${protocol}"`,
    );
  }
}

/** Hides a password in a URL before it is printed. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:/@]*):[^/]*@/i, '$1$2:***@');
}
