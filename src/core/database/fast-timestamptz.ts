import { types, type CustomTypesConfig } from 'pg';

const TIMESTAMPTZ_OID = 1184;
const ZERO = 48;

/** The digits at `from`…`from + length - 1` as a number; -1 when one of them is no digit. */
function digits(text: string, from: number, length: number): number {
  let value = 0;
  for (let i = from; i < from + length; i++) {
    const digit = text.charCodeAt(i) - ZERO; // NaN past the end
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Parses PostgreSQL's text form of a timestamptz (DateStyle ISO:
 * `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`) straight from the characters, without the regular
 * expressions and substrings of pg's general parser (postgres-date) — the list route reads two
 * per row. Anything else (BC dates, years outside 100–9999, infinity, other date styles) goes to
 * pg's own parser, so the result is always the one pg would give.
 */
export function parseTimestamptz(text: string): Date {
  const fast = fastTimestamptz(text);
  return fast ?? (types.getTypeParser(TIMESTAMPTZ_OID, 'text')(text) as Date);
}

function fastTimestamptz(text: string): Date | undefined {
  const length = text.length;
  if (length < 22 || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ') return undefined;
  if (text[13] !== ':' || text[16] !== ':') return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 1 || day < 1 || hour < 0 || minute < 0 || second < 0) return undefined;

  let i = 19;
  let ms = 0;
  if (text[i] === '.') {
    i++;
    // Milliseconds are the first three fraction digits; further digits are truncated, as pg does.
    let scale = 100;
    const start = i;
    while (i < length && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= ZERO + 9) {
      ms += (text.charCodeAt(i) - ZERO) * scale;
      scale /= 10;
      i++;
    }
    if (i === start) return undefined;
    ms = Math.trunc(ms);
  }

  const sign = text[i] === '+' ? 1 : text[i] === '-' ? -1 : 0;
  if (sign === 0) return undefined;
  const offsetHours = digits(text, i + 1, 2);
  if (offsetHours < 0) return undefined;
  i += 3;
  let offsetSeconds = offsetHours * 3600;
  // Then `:MM` and `:SS`, each optional.
  for (let unit = 60; i < length && unit >= 1; unit /= 60) {
    const part = text[i] === ':' ? digits(text, i + 1, 2) : -1;
    if (part < 0) return undefined;
    offsetSeconds += part * unit;
    i += 3;
  }
  if (i !== length) return undefined;

  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const date = new Date(utc - sign * offsetSeconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** pg's type parsers, with parseTimestamptz for timestamptz (a per-query `types` option). */
export const FAST_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary'
      ? parseTimestamptz
      : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};
