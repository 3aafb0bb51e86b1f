import { inlineParameters } from './tenant-transactions';

/**
 * Reads one SQL string literal the way PostgreSQL does with standard_conforming_strings on (the
 * default): in '…' a backslash is an ordinary character and '' is a quote; in E'…' a backslash
 * escapes the next character. Only \\ and \' are accepted after a backslash, so a sequence that
 * PostgreSQL would turn into something else (\n, \x41, \u0041, \101) fails the test instead of
 * being decoded differently from the server. Throws when the literal ends before the text does.
 */
function readLiteral(literal: string): string {
  const text = literal.trimStart();
  const escaped = text.startsWith("E'");
  const body = escaped ? text.slice(1) : text;
  if (!body.startsWith("'")) throw new Error(`not a string literal: ${literal}`);
  let value = '';
  for (let i = 1; i < body.length; i++) {
    const char = body[i];
    if (escaped && char === '\\') {
      const next = body[i + 1];
      if (next !== '\\' && next !== "'") throw new Error(`escape \\${next} in ${literal}`);
      value += next;
      i++;
    } else if (char === "'") {
      if (body[i + 1] === "'") {
        value += "'";
        i++;
      } else if (i === body.length - 1) {
        return value;
      } else {
        throw new Error(`literal ends early: ${literal}`);
      }
    } else {
      value += char;
    }
  }
  throw new Error(`unterminated literal: ${literal}`);
}

describe('inlineParameters', () => {
  it('leaves a statement without placeholders as it is', () => {
    expect(inlineParameters('SELECT 1', [])).toBe('SELECT 1');
  });

  describe('strings', () => {
    it.each([
      ['plain text', 'acme', "'acme'"],
      ['the empty string', '', "''"],
      ['a single quote', "it's", "'it''s'"],
      ['only quotes', "''", "''''''"],
      ['an injection attempt', "'; DROP TABLE boards; --", "'''; DROP TABLE boards; --'"],
      ['a percent sign and underscore', '100%_done', "'100%_done'"],
      ['a newline', 'a\nb', "'a\nb'"],
      ['non-ASCII text', 'Zürich ✓', "'Zürich ✓'"],
      ['a dollar placeholder inside the value', '$2', "'$2'"],
    ])('quotes %s', (_, value, literal) => {
      expect(inlineParameters('SELECT $1', [value])).toBe(`SELECT ${literal}`);
    });

    it.each([
      ['a backslash', 'a\\b', " E'a\\\\b'"],
      ['a trailing backslash', 'abc\\', " E'abc\\\\'"],
      ['a backslash before a quote', "\\'", " E'\\\\'''"],
      ['a backslash-n pair (not a newline)', '\\n', " E'\\\\n'"],
      ['quotes, backslashes and percent signs', "O'Re\\il%ly\\\\", " E'O''Re\\\\il%ly\\\\\\\\'"],
    ])('writes %s as an E literal with backslashes doubled', (_, value, literal) => {
      expect(inlineParameters('SELECT $1', [value])).toBe(`SELECT ${literal}`);
    });

    it.each([
      'plain',
      '',
      "it's",
      "''",
      '\\',
      'a\\b',
      'abc\\',
      "\\'",
      "'\\",
      "\\''\\\\'",
      '\\n\\t\\x41\\u0041\\101',
      "O'Brien \\ 100% done",
      "'; DROP TABLE boards; --",
      "\\'; DROP TABLE boards; --",
      'Zürich\n✓',
    ])('round-trips %p as PostgreSQL reads the literal', (value) => {
      const inlined = inlineParameters('$1', [value]);
      expect(readLiteral(inlined)).toBe(value);
    });

    it('refuses a string with a NUL character', () => {
      expect(() => inlineParameters('SELECT $1', ['a\0b'])).toThrow(/NUL/);
    });
  });

  describe('other values', () => {
    it.each([
      ['null', null, 'NULL'],
      ['undefined', undefined, 'NULL'],
      ['true', true, 'true'],
      ['false', false, 'false'],
      ['zero', 0, '0'],
      ['a positive integer', 42, '42'],
      ['the largest safe integer', Number.MAX_SAFE_INTEGER, '9007199254740991'],
      ['a negative integer', -5, '(-5)'],
      ['the smallest safe integer', Number.MIN_SAFE_INTEGER, '(-9007199254740991)'],
      ['a Date', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), "'2024-01-02T03:04:05.006Z'"],
    ])('writes %s', (_, value, literal) => {
      expect(inlineParameters('SELECT $1', [value])).toBe(`SELECT ${literal}`);
    });

    it.each([
      ['1 - $1', '1 - (-5)'],
      ['1 -$1', '1 -(-5)'],
      ['1-$1', '1-(-5)'],
    ])('never turns %p with a negative value into a -- comment', (sql, inlined) => {
      const text = inlineParameters(sql, [-5]);
      expect(text).toBe(inlined);
      expect(text).not.toContain('--');
    });

    it.each([
      ['a fraction', 1.5],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['2**60', 2 ** 60],
      ['-(2**53)', -(2 ** 53)],
    ])('refuses %s', (_, value) => {
      expect(() => inlineParameters('SELECT $1', [value])).toThrow(/cannot inline the number/);
    });

    it.each([
      ['an object', { a: 1 }, 'object'],
      ['an array', [1, 2], 'object'],
      ['a Buffer', Buffer.from('x'), 'object'],
      ['a bigint', 10n, 'bigint'],
      ['a symbol', Symbol('x'), 'symbol'],
      ['a function', () => 1, 'function'],
    ])('refuses %s', (_, value, type) => {
      expect(() => inlineParameters('SELECT $1', [value])).toThrow(
        `cannot inline a value of type ${type}`,
      );
    });
  });

  describe('placeholders', () => {
    const params = [
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
      'eight',
      'nine',
      'ten',
      'eleven',
    ];

    it('resolves $10 and $11 as whole numbers, not as $1 followed by a digit', () => {
      expect(inlineParameters('SELECT $1, $10, $11, $2', params)).toBe(
        "SELECT 'one', 'ten', 'eleven', 'two'",
      );
    });

    it('resolves a placeholder used more than once and in any order', () => {
      expect(inlineParameters('$2 || $1 || $2', ['a', 'b'])).toBe("'b' || 'a' || 'b'");
    });

    it('keeps casts after a placeholder', () => {
      expect(inlineParameters('SELECT $1::int, $2::text', [7, 'x'])).toBe(
        "SELECT 7::int, 'x'::text",
      );
    });

    it('does not substitute placeholders that appear inside an inlined value', () => {
      expect(inlineParameters('SELECT $1, $2', ['$2', 'b'])).toBe("SELECT '$2', 'b'");
    });

    it.each([
      ['$3 with two values', 'SELECT $1, $3', ['a', 'b'], /no value for \$3/],
      ['$1 with no values', 'SELECT $1', [], /no value for \$1/],
      ['$0', 'SELECT $0', ['a'], /no value for \$0/],
      ['$12 with eleven values', 'SELECT $12', params, /no value for \$12/],
    ])('refuses %s', (_, sql, values, message) => {
      expect(() => inlineParameters(sql, values)).toThrow(message);
    });
  });
});
