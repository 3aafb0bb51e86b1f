import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { API_ERROR_CODES, ERROR_CATALOG, isApiErrorCode } from './error-catalog';
import {
  ERROR_CATALOG_DOC,
  REGENERATE_ERROR_CATALOG_DOC,
  renderErrorCatalog,
} from './error-catalog.doc';
import { ERROR_CLASSES } from './error-code';

const ROOT = join(__dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');
const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** The service's source files (specs excluded), with their text. */
function sources(dir = SRC): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) return [];
    return [{ file: relative(ROOT, path), text: readFileSync(path, 'utf8') }];
  });
}

/** `line: excerpt` of every match of `pattern` in the source files. */
function occurrences(pattern: RegExp): { at: string; match: RegExpExecArray }[] {
  return sources().flatMap(({ file, text }) =>
    [...text.matchAll(new RegExp(pattern.source, 'g'))].map((match) => ({
      at: `${file}:${text.slice(0, match.index).split('\n').length}`,
      match,
    })),
  );
}

describe('the error catalogue', () => {
  it('has snake_case codes, each with an error status and a one-line meaning', () => {
    expect(API_ERROR_CODES.filter((code) => !SNAKE_CASE.test(code))).toEqual([]);
    for (const code of API_ERROR_CODES) {
      const { status, meaning } = ERROR_CATALOG[code];
      expect({ code, error: status >= 400 && status < 600 }).toEqual({ code, error: true });
      expect({ code, meaning: meaning.length > 10 && !meaning.includes('\n') }).toEqual({
        code,
        meaning: true,
      });
    }
  });

  it('names each code once, and no two codes share a meaning', () => {
    // An object literal cannot repeat a key at run time; the source can (the last one wins).
    const source = readFileSync(join(__dirname, 'error-catalog.ts'), 'utf8');
    const keys = [...source.matchAll(/^ {2}([a-z0-9_]+): \{/gm)].map((match) => match[1]);
    expect(keys).toEqual(API_ERROR_CODES);
    expect(new Set(keys).size).toBe(keys.length);
    const meanings = API_ERROR_CODES.map((code) => ERROR_CATALOG[code].meaning);
    expect(meanings.filter((meaning, i) => meanings.indexOf(meaning) !== i)).toEqual([]);
  });

  it('keeps the codes published before the catalogue existed', () => {
    for (const code of [
      'tenant_busy',
      'search_budget_exhausted',
      'list_budget_exhausted',
      'quota_exceeded',
      'client_rate_limited',
    ]) {
      expect(isApiErrorCode(code)).toBe(true);
    }
  });

  it('gives every HTTP class of DomainError at least one code of its status', () => {
    const statuses = new Set(API_ERROR_CODES.map((code) => ERROR_CATALOG[code].status));
    for (const [kind, { status }] of Object.entries(ERROR_CLASSES)) {
      expect({ kind, covered: statuses.has(status) }).toEqual({ kind, covered: true });
    }
    expect(ERROR_CATALOG.internal_error.status).toBe(500);
  });
});

describe('the codes used in src', () => {
  it('every DomainError is built with its class and a catalogued code literal', () => {
    const built = occurrences(/new DomainError\(([^,]*),\s*([^,]*),/);
    expect(built.length).toBeGreaterThan(40);
    const wrong = built
      .filter(({ match }) => {
        const code = /^'([^']*)'$/.exec(match[2].trim())?.[1];
        return !/^ErrorCode\.\w+$/.test(match[1].trim()) || !isApiErrorCode(code);
      })
      .map(({ at, match }) => `${at}: ${match[0]}`);
    expect(wrong).toEqual([]);
  });

  it('every DomainError subclass passes a catalogued code to super', () => {
    const subclasses = occurrences(/class (\w+) extends DomainError/).map(({ match }) => match[1]);
    expect(subclasses.length).toBeGreaterThanOrEqual(6);
    const supers = occurrences(/super\(\s*ErrorCode\.\w+,\s*([^,]+),/);
    const wrong = supers
      .filter(({ match }) => {
        const argument = match[1].trim();
        // A subclass that takes its code as a typed parameter (InvalidBodyError) is checked below.
        if (argument === 'apiCode') return false;
        return !isApiErrorCode(/^'([^']*)'$/.exec(argument)?.[1]);
      })
      .map(({ at, match }) => `${at}: ${match[0]}`);
    expect(wrong).toEqual([]);
    const bodyErrors = occurrences(/new InvalidBodyError\(\s*'([^']*)'/);
    expect(bodyErrors.length).toBeGreaterThanOrEqual(6);
    expect(bodyErrors.filter(({ match }) => !isApiErrorCode(match[1])).map(({ at }) => at)).toEqual(
      [],
    );
  });

  it('bodies built outside the filter (errorBody) carry catalogued codes', () => {
    const literal = occurrences(/errorBody\(\s*\d+,\s*'([^']*)'/);
    const tabled = occurrences(/\bcode: '([a-z0-9_]+)'/);
    expect(literal.length + tabled.length).toBeGreaterThan(5);
    expect(
      [...literal, ...tabled].filter(({ match }) => !isApiErrorCode(match[1])).map(({ at }) => at),
    ).toEqual([]);
  });

  it('every catalogued code is used somewhere in src (no dead codes)', () => {
    const text = sources()
      .filter(({ file }) => !file.endsWith('error-catalog.ts'))
      .map(({ text }) => text)
      .join('\n');
    expect(API_ERROR_CODES.filter((code) => !text.includes(`'${code}'`))).toEqual([]);
  });
});

describe(ERROR_CATALOG_DOC, () => {
  it('is the catalogue as generated', () => {
    const committed = readFileSync(join(ROOT, ERROR_CATALOG_DOC), 'utf8');
    if (committed !== renderErrorCatalog()) {
      throw new Error(
        `${ERROR_CATALOG_DOC} is stale: it does not match src/core/errors/error-catalog.ts. ` +
          `Regenerate it: ${REGENERATE_ERROR_CATALOG_DOC}`,
      );
    }
    for (const code of API_ERROR_CODES) expect(committed).toContain(`| \`${code}\` `);
  });
});
