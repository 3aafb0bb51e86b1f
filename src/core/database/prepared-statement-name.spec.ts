import {
  MAX_PREPARED_STATEMENTS,
  namedStatement,
  preparedStatementName,
} from './prepared-statements';

describe('preparedStatementName', () => {
  it('gives each distinct text one stable name, a write apart from a read, and none past the cap', () => {
    const first = preparedStatementName('SELECT 1');
    expect(first).toMatch(/^boards_read_\d+$/);
    expect(preparedStatementName('SELECT 1')).toBe(first);
    const second = preparedStatementName('SELECT 2');
    expect(second).toMatch(/^boards_read_\d+$/);
    expect(second).not.toBe(first);
    const write = preparedStatementName('UPDATE boards SET title = $1', 'write');
    expect(write).toMatch(/^boards_write_\d+$/);

    // namedStatement looks a name up and gives none.
    expect(namedStatement('UPDATE boards SET title = $1')).toBe(write);
    expect(namedStatement('SELECT 0')).toBeUndefined();
    expect(namedStatement('SELECT 0')).toBeUndefined();

    const names = new Set([first, second, write]);
    for (let i = 3; names.size < MAX_PREPARED_STATEMENTS; i++) {
      names.add(preparedStatementName(`SELECT ${i}`));
    }
    expect(names.size).toBe(MAX_PREPARED_STATEMENTS);
    expect(preparedStatementName('SELECT -1')).toBeUndefined();
    expect(preparedStatementName('DELETE FROM boards WHERE id = $1', 'write')).toBeUndefined();
    expect(namedStatement('SELECT -1')).toBeUndefined();
    // Texts named before the cap keep their names.
    expect(preparedStatementName('SELECT 1')).toBe(first);
    expect(preparedStatementName('SELECT 2')).toBe(second);
    expect(namedStatement('UPDATE boards SET title = $1')).toBe(write);
  });
});
