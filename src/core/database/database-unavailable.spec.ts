import { readFileSync } from 'node:fs';
import { QueryFailedError } from 'typeorm';
import { PG_UNAVAILABLE_MESSAGES, isDatabaseUnavailable } from './database-unavailable';

describe('isDatabaseUnavailable', () => {
  const sqlError = (code: string) => Object.assign(new Error(`server says ${code}`), { code });

  it.each(['57P01', '57P02', '57P03', '53300', '08006', '08001', '08003'])(
    'SQLSTATE %s (the server is going away or refuses connections)',
    (code) => {
      expect(isDatabaseUnavailable(sqlError(code))).toBe(true);
      // As TypeORM wraps it.
      expect(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], sqlError(code)))).toBe(
        true,
      );
    },
  );

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'])(
    'socket error %s, alone, as a cause, or inside an AggregateError',
    (code) => {
      const socket = Object.assign(new Error(`connect ${code}`), { code });
      expect(isDatabaseUnavailable(socket)).toBe(true);
      expect(isDatabaseUnavailable(new Error('wrapped', { cause: socket }))).toBe(true);
      expect(isDatabaseUnavailable(new AggregateError([socket], 'all failed'))).toBe(true);
    },
  );

  it.each(PG_UNAVAILABLE_MESSAGES)('node-postgres: "%s"', (message) => {
    expect(isDatabaseUnavailable(new Error(message))).toBe(true);
  });

  it.each([
    ['a unique violation', sqlError('23505')],
    ['a syntax error (a bug)', sqlError('42601')],
    ['a statement timeout', sqlError('57014')],
    ['an RLS refusal', sqlError('42501')],
    ['a plain bug', new TypeError('x is undefined')],
    ['a message that merely contains the words', new Error('Connection terminated unexpectedly!')],
    [
      'an SQL error whose text matches a pg message',
      Object.assign(new Error('timeout expired'), { code: '42000' }),
    ],
    ['null', null],
    ['a string', 'ECONNREFUSED'],
  ])('not for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('the messages are node-postgres own words in the installed version (a changed wording fails here)', () => {
    const sources = ['pg/lib/client.js', 'pg-pool']
      .map((file) => readFileSync(require.resolve(file), 'utf8'))
      .join('\n');
    for (const message of PG_UNAVAILABLE_MESSAGES) {
      expect({ message, found: sources.includes(`'${message}'`) }).toEqual({
        message,
        found: true,
      });
    }
  });
});
