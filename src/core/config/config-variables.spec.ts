import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNOWN_VARIABLES, carriesOnlyPlaceholders, loadConfig } from './boards-config';
import { REFERENCE_BEGIN, REGENERATE_COMMAND, withReference } from './config-docs';
import {
  CONFIG_VARIABLES,
  VARIABLE_GROUPS,
  isComputedDefault,
  variableEntries,
  type VariableSpec,
} from './config-variables';
import type { Env } from './env-parsers';

const ROOT = join(__dirname, '..', '..', '..');
const ENV_EXAMPLES = ['.env.development', '.env.staging', '.env.production'];

/** The variable names loadConfig looks up in this environment. */
function namesRead(env: Env): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name) as unknown;
    },
  });
  try {
    loadConfig(recording);
  } catch {
    // Only the names matter here.
  }
  return read;
}

describe('the configuration table', () => {
  const entries = variableEntries();

  it('names BOARDS_* variables, each in a known group with a one-sentence description', () => {
    for (const [name, spec] of entries) {
      expect(name).toMatch(/^BOARDS_[A-Z0-9_]+$/);
      expect(Object.keys(VARIABLE_GROUPS)).toContain(spec.group);
      expect(spec.description).toMatch(/^\S.*[.)]$/);
      // One sentence: no sentence break inside (abbreviations such as "e.g." aside).
      expect(spec.description.replace(/e\.g\./g, 'eg')).not.toMatch(/[.;] [A-Z`]/);
    }
  });

  it('has defaults inside their own bounds and choices', () => {
    for (const [name, spec] of entries as [string, VariableSpec][]) {
      const value = 'default' in spec ? spec.default : undefined;
      if (value === undefined || isComputedDefault(value)) continue;
      if (spec.kind === 'int') {
        expect([name, spec.min <= Number(value) && Number(value) <= spec.max]).toEqual([
          name,
          true,
        ]);
        expect(Number.isSafeInteger(spec.max)).toBe(true);
      }
      if (spec.kind === 'choice') expect(spec.choices).toContain(value);
      if (spec.kind === 'list' && spec.choices) expect(spec.choices).toContain(value);
    }
  });

  it('is what loadConfig reads: every variable it looks up, and nothing else', () => {
    // Every branch that reads a variable only under a condition, taken at least once.
    const read = new Set([
      ...namesRead({}),
      ...namesRead({ BOARDS_ENVIRONMENT: 'production' }),
      ...namesRead({ BOARDS_TRUST_PROXY: '1' }),
    ]);
    const table = new Set(Object.keys(CONFIG_VARIABLES));
    expect([...read].filter((name) => !table.has(name))).toEqual([]);
    expect([...table].filter((name) => !read.has(name))).toEqual([]);
  });

  it('is the list of known variables: only other BOARDS_* names are warned about', () => {
    expect(KNOWN_VARIABLES).toEqual(Object.keys(CONFIG_VARIABLES));
    const everyOne = Object.fromEntries(KNOWN_VARIABLES.map((name) => [name, ' ']));
    expect(loadConfig(everyOne).warnings).toEqual([]);
    expect(loadConfig({ ...everyOne, BOARDS_API_PORTT: '1' }).warnings).toEqual([
      'BOARDS_API_PORTT is not a known setting and is ignored (check the spelling)',
    ]);
  });

  it("gives loadConfig its defaults and bounds (an empty environment yields the table's defaults)", () => {
    const config = loadConfig({});
    expect(config.api.port).toBe(CONFIG_VARIABLES.BOARDS_API_PORT.default);
    expect(config.database.poolSize).toBe(CONFIG_VARIABLES.BOARDS_DATABASE_POOL_SIZE.default);
    expect(config.tenancy.defaultTenantName).toBe(CONFIG_VARIABLES.BOARDS_TENANT_NAME.default);
    const { min, max } = CONFIG_VARIABLES.BOARDS_DATABASE_POOL_SIZE;
    expect(() => loadConfig({ BOARDS_DATABASE_POOL_SIZE: String(max + 1) })).toThrow(
      `BOARDS_DATABASE_POOL_SIZE: must be between ${min} and ${max}, got ${max + 1}`,
    );
  });
});

describe('docs/configuration.md', () => {
  it(`carries the reference the table generates (regenerate it with \`${REGENERATE_COMMAND}\`)`, () => {
    const committed = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(committed).toContain(REFERENCE_BEGIN);
    const generated = withReference(committed);
    if (generated !== committed) {
      const have = committed.split('\n');
      const want = generated.split('\n');
      const line = want.findIndex((text, index) => have[index] !== text);
      throw new Error(
        `docs/configuration.md is out of date with src/core/config/config-variables.ts: run \`${REGENERATE_COMMAND}\` and commit the result.\n` +
          `First difference, line ${line + 1}:\n  committed: ${have[line] ?? '(end of file)'}\n  generated: ${want[line]}`,
      );
    }
  });
});

/** `NAME=value` assignments of an example file, also commented-out ones (`# NAME=value`). */
function assignments(file: string): { name: string; value: string; commented: boolean }[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .flatMap((line) => {
      const match = /^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!match) return [];
      const raw = match[3].trim();
      const value = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
      return [{ name: match[2], value, commented: match[1] !== undefined }];
    });
}

describe.each(ENV_EXAMPLES)('the example file %s', (file) => {
  const known = new Set<string>(KNOWN_VARIABLES);

  it('sets BOARDS_* variables only, each of them known', () => {
    const settings = assignments(file);
    expect(settings.filter((s) => !s.commented).length).toBeGreaterThan(0);
    expect(settings.filter((s) => !known.has(s.name)).map((s) => s.name)).toEqual([]);
  });

  it('holds only example placeholders in secret variables (and URL passwords)', () => {
    const leaked = assignments(file).filter((s) => !carriesOnlyPlaceholders(s.name, s.value));
    expect(leaked.map((s) => s.name)).toEqual([]);
  });

  it('is a configuration loadConfig accepts, but for production placeholders', () => {
    const env = Object.fromEntries(
      assignments(file)
        .filter((s) => !s.commented)
        .map((s) => [s.name, s.value]),
    );
    if (env.BOARDS_ENVIRONMENT !== 'production') {
      expect(loadConfig(env).warnings).toEqual([]);
      return;
    }
    // Production refuses the placeholders, and nothing else.
    expect(() => loadConfig(env)).toThrow();
    try {
      loadConfig(env);
    } catch (err) {
      for (const line of (err as { problems: string[] }).problems) {
        expect(line).toMatch(/example placeholder/);
      }
    }
  });
});

describe('carriesOnlyPlaceholders', () => {
  it.each([
    ['BOARDS_JWT_SECRET', 'CHANGE_ME_TO_AT_LEAST_32_RANDOM_BYTES', true],
    ['BOARDS_JWT_SECRET', 'k'.repeat(40), false],
    ['BOARDS_METRICS_TOKEN', 'A_LONG_RANDOM_TOKEN', true],
    ['BOARDS_OIDC_CLIENT_SECRET', 'a3f9c2', false],
    ['BOARDS_DATABASE_URL', 'postgresql://boards_app:CHANGE_ME@db/boards', true],
    ['BOARDS_DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/boards_dev', true],
    ['BOARDS_DATABASE_URL', 'postgresql://boards_app:s3cr3t@db/boards', false],
    ['BOARDS_REDIS_URL', 'redis://:s3cr3t@redis:6379', false],
    ['BOARDS_API_HOST', '0.0.0.0', true],
  ])('%s=%s: %p', (name, value, expected) => {
    expect(carriesOnlyPlaceholders(name, value)).toBe(expected);
  });
});
