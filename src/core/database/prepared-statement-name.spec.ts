import { MAX_PREPARED_STATEMENTS, preparedStatementName } from './tenant-transactions';

describe('preparedStatementName', () => {
  it('gives each distinct text one stable name, and none past the cap', () => {
    const first = preparedStatementName('SELECT 1');
    expect(first).toMatch(/^boards_read_\d+$/);
    expect(preparedStatementName('SELECT 1')).toBe(first);
    const second = preparedStatementName('SELECT 2');
    expect(second).toMatch(/^boards_read_\d+$/);
    expect(second).not.toBe(first);

    const names = new Set([first, second]);
    for (let i = 3; names.size < MAX_PREPARED_STATEMENTS; i++) {
      names.add(preparedStatementName(`SELECT ${i}`));
    }
    expect(names.size).toBe(MAX_PREPARED_STATEMENTS);
    expect(preparedStatementName('SELECT -1')).toBeUndefined();
    // Texts named before the cap keep their names.
    expect(preparedStatementName('SELECT 1')).toBe(first);
    expect(preparedStatementName('SELECT 2')).toBe(second);
  });
});
