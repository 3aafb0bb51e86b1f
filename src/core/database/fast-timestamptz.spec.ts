import { types } from 'pg';
import { seededRandom } from 'test/factories/random';
import { FAST_TYPES, parseTimestamptz } from './fast-timestamptz';

const pgParse = types.getTypeParser(1184, 'text') as (text: string) => unknown;

/** `YYYY-MM-DD HH:MM:SS[.f…]±HH[:MM[:SS]]`, as PostgreSQL prints a timestamptz. */
function pgText(ms: number, fraction: string, offset: string): string {
  const iso = new Date(ms).toISOString(); // 2026-11-27T10:17:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}${offset}`;
}

describe('parseTimestamptz', () => {
  it.each([
    '2026-11-27 10:17:00+00',
    '2026-11-27 10:17:00.1+00',
    '2026-11-27 10:17:00.123+00',
    '2026-11-27 10:17:00.123456+00',
    '2026-11-27 10:17:00.999999-03',
    '2026-11-27 23:59:59.5+05:30',
    '1969-12-31 23:59:59.999+00',
    '2000-02-29 00:00:00-09:30',
    '1883-11-18 12:00:00-04:56:02',
    '0100-01-01 00:00:00+00',
    '9999-12-31 23:59:59.999+14',
  ])('%s gives exactly what pg gives', (text) => {
    const ours = parseTimestamptz(text);
    const theirs = pgParse(text) as Date;
    expect(ours).toBeInstanceOf(Date);
    expect(ours.getTime()).toBe(theirs.getTime());
  });

  it('agrees with pg on 5,000 random instants, fractions and offsets', () => {
    const random = seededRandom(42);
    const offsets = ['+00', '-03', '+05:30', '-09:30', '+14', '-12', '+00:00:30'];
    for (let n = 0; n < 5_000; n++) {
      const ms = Math.floor((random() - 0.3) * 4e12);
      const digits = Math.floor(random() * 7);
      const fraction =
        digits === 0 ? '' : `.${String(Math.floor(random() * 10 ** digits)).padStart(digits, '0')}`;
      const text = pgText(ms, fraction, offsets[n % offsets.length]);
      expect([text, parseTimestamptz(text).getTime()]).toEqual([
        text,
        (pgParse(text) as Date).getTime(),
      ]);
    }
  });

  it.each([
    'infinity',
    '-infinity',
    '0044-03-15 12:00:00+00 BC',
    '0099-12-31 23:59:59+00',
    '12026-01-01 00:00:00+00',
    '2026-11-27 10:17:00',
    '2026-11-27T10:17:00Z',
    '2026-11-27 10:17:00.+00',
    '2026-11-27 10:17:00+0',
    '2026-11-27 10:17:00+00:3',
  ])('hands anything else (%s) to pg’s own parser', (text) => {
    const ours = parseTimestamptz(text) as unknown;
    const theirs = pgParse(text);
    if (theirs instanceof Date) {
      expect(ours instanceof Date && ours.getTime()).toBe(
        Number.isNaN(theirs.getTime()) ? NaN : theirs.getTime(),
      );
    } else {
      expect(ours).toEqual(theirs);
    }
  });

  it('is what FAST_TYPES gives for timestamptz in text; every other type keeps pg’s parser', () => {
    expect(FAST_TYPES.getTypeParser(1184, 'text')).toBe(parseTimestamptz);
    expect(FAST_TYPES.getTypeParser(1184)).toBe(parseTimestamptz);
    for (const oid of [16, 20, 23, 25, 114, 1082, 1114, 2950, 3802]) {
      expect(FAST_TYPES.getTypeParser(oid, 'text')).toBe(types.getTypeParser(oid, 'text'));
    }
    expect(FAST_TYPES.getTypeParser(1184, 'binary')).toBe(types.getTypeParser(1184, 'binary'));
  });
});
