import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { decodeCursor, encodeCursor, isStorableInstant } from './pagination';

const ID = '00000000-0000-4000-8000-000000000000';
const cursorOf = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

describe('cursors', () => {
  it('round-trips a position', () => {
    const position = { value: '2026-12-03T10:00:00.123Z', id: ID };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    ['February 30th', '2024-02-30T00:00:00.000Z'],
    ['February 29th of a common year', '2023-02-29T00:00:00.000Z'],
    ['April 31st', '2024-04-31T00:00:00.000Z'],
    ['year 0000', '0000-01-01T00:00:00.000Z'],
    ['hour 24', '2024-01-01T24:00:00.000Z'],
    ['minute 60', '2024-01-01T10:60:00.000Z'],
    ['second 60', '2024-01-01T10:00:60.000Z'],
    ['month 13', '2024-13-01T00:00:00.000Z'],
    ['day 00', '2024-01-00T00:00:00.000Z'],
    ['no milliseconds', '2024-01-01T00:00:00Z'],
    ['an offset instead of Z', '2024-01-01T00:00:00.000+01:00'],
  ])('refuses an impossible or non-canonical instant: %s', (_name, value) => {
    expect(isStorableInstant(value)).toBe(false);
    const error = (() => {
      try {
        decodeCursor(cursorOf([value, ID]));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCode.BadRequest);
  });

  it.each(['0001-01-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '9999-12-31T23:59:59.999Z'])(
    'accepts %s',
    (value) => {
      expect(isStorableInstant(value)).toBe(true);
      expect(decodeCursor(cursorOf([value, ID]))).toEqual({ value, id: ID });
    },
  );

  it.each([
    ['not base64 JSON', '!!!'],
    ['an object', cursorOf({ value: '2024-01-01T00:00:00.000Z', id: ID })],
    ['three elements', cursorOf(['2024-01-01T00:00:00.000Z', ID, 'x'])],
    ['a number', cursorOf([1, ID])],
    ['a bad id', cursorOf(['2024-01-01T00:00:00.000Z', 'x'])],
  ])('refuses %s with a 400', (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(DomainError);
  });
});
