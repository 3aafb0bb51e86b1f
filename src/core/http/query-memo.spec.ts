import { IsIn, IsInt, IsOptional, IsString } from 'class-validator';
import { QueryMemo } from './direct-routes';

/** A list query as the boards' is: a page size, a sort, a role filter, a search text, a cursor. */
class ListBoardsQuery {
  @IsOptional() @IsInt() limit?: number;
  @IsOptional() @IsIn(['updated_desc', 'updated_asc', 'created_desc']) sort?: string;
  @IsOptional() @IsIn(['any', 'owner', 'member']) role?: string;
  @IsOptional() @IsString() q?: string;
  @IsOptional() @IsString() cursor?: string;
}

function query(values: Partial<ListBoardsQuery>): ListBoardsQuery {
  return Object.assign(new ListBoardsQuery(), values);
}

describe('QueryMemo (validated query DTOs of a direct route)', () => {
  it('remembers a query of closed values only, and gives each request its own copy', () => {
    const memo = new QueryMemo(ListBoardsQuery);
    memo.remember(
      'limit=5&sort=created_asc&role=owner',
      query({ limit: 5, sort: 'updated_asc', role: 'owner' }),
    );
    memo.remember('', query({}));
    const first = memo.get('limit=5&sort=created_asc&role=owner') as ListBoardsQuery;
    expect(first).toBeInstanceOf(ListBoardsQuery);
    expect({ ...first }).toEqual({ limit: 5, sort: 'updated_asc', role: 'owner' });
    first.limit = 99;
    expect((memo.get('limit=5&sort=created_asc&role=owner') as ListBoardsQuery).limit).toBe(5);
    expect(memo.get('')).toBeInstanceOf(ListBoardsQuery);
  });

  it('never remembers a search text or a cursor: a fast answer would tell of another caller', () => {
    const memo = new QueryMemo(ListBoardsQuery);
    memo.remember('q=secret%20plan', query({ q: 'secret plan' }));
    memo.remember('cursor=abc&limit=5', query({ cursor: 'abc', limit: 5 }));
    expect(memo.get('q=secret%20plan')).toBeUndefined();
    expect(memo.get('cursor=abc&limit=5')).toBeUndefined();
  });

  it('holds at most 256 query strings, dropping the oldest', () => {
    const memo = new QueryMemo(ListBoardsQuery);
    for (let limit = 1; limit <= 100; limit++) {
      for (const sort of ['updated_desc', 'updated_asc', 'created_desc'] as const) {
        memo.remember(`limit=${limit}&sort=${sort}`, query({ limit, sort }));
      }
    }
    expect(memo.get('limit=1&sort=updated_desc')).toBeUndefined();
    expect(memo.get('limit=100&sort=created_desc')).toBeDefined();
  });
});
