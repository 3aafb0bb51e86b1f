import { loadConfig } from 'src/core/config/boards-config';
import type { TenantRecord } from 'src/core/context/records';
import {
  effectiveQuotas,
  quotaSettingLiteral,
  routeClassOf,
  routeClassStatements,
} from './transaction-settings';

const config = loadConfig({
  BOARDS_QUOTA_BOARDS: '50',
  BOARDS_STATEMENT_TIMEOUT_READ_MS: '1000',
  BOARDS_STATEMENT_TIMEOUT_WRITE_MS: '2000',
  BOARDS_STATEMENT_TIMEOUT_SEARCH_MS: '3000',
  BOARDS_STATEMENT_TIMEOUT_ADMIN_MS: '4000',
});

const tenant = (quotas?: TenantRecord['quotas']): TenantRecord => ({
  id: '3f1c2a9e-8b7d-4c6e-9a5b-1d2e3f4a5b6c',
  slug: 'acme',
  name: 'Acme',
  status: 'active',
  allowedIssuers: [],
  claimsAdmit: true,
  quotas,
});

describe('routeClassOf', () => {
  it.each([
    [undefined, 'admin'],
    [{ method: 'GET', url: '/api/setup/tenants' }, 'admin'],
    [
      {
        method: 'DELETE',
        url: '/api/setup/tenant/x',
        routeOptions: { url: '/api/setup/tenant/:id' },
      },
      'admin',
    ],
    [{ method: 'GET', url: '/api/boards?q=abc', query: { q: 'abc' } }, 'search'],
    [{ method: 'GET', url: '/api/boards?q=%20', query: { q: '  ' } }, 'read'],
    [{ method: 'GET', url: '/api/boards', query: {} }, 'read'],
    [{ method: 'HEAD', url: '/api/boards/1' }, 'read'],
    [{ method: 'POST', url: '/api/boards' }, 'write'],
    [{ method: 'PATCH', url: '/api/boards/1', query: { q: 'abc' } }, 'write'],
    [{ method: 'DELETE', url: '/api/tenant/members/1' }, 'write'],
    // Node's raw request, as the request context holds it: the query string is in the URL.
    [{ method: 'GET', url: '/api/boards?limit=5&q=glacier' }, 'search'],
    [{ method: 'GET', url: '/api/boards?q=%20%20&limit=5' }, 'read'],
    [{ method: 'GET', url: '/api/boards?query=glacier' }, 'read'],
    [{ method: 'GET', url: '/api/setup/tenants?q=x' }, 'admin'],
  ] as const)('%j is %s', (request, expected) => {
    expect(routeClassOf(request)).toBe(expected);
  });
});

describe('routeClassStatements', () => {
  it('sets each class its statement timeout, and a search no sequential scan', () => {
    expect(routeClassStatements(config, 'read')).toEqual(["SET LOCAL statement_timeout = '1000'"]);
    expect(routeClassStatements(config, 'admin')).toEqual(["SET LOCAL statement_timeout = '4000'"]);
    expect(routeClassStatements(config, 'search')).toEqual([
      "SET LOCAL statement_timeout = '3000'",
      'SET LOCAL enable_seqscan = off',
      'SET LOCAL cpu_operator_cost = 0.25',
    ]);
  });
});

describe('quotas', () => {
  it('takes each override that is a non-negative safe integer, else the default', () => {
    expect(effectiveQuotas(config.quotas, undefined)).toBe(config.quotas);
    expect(
      effectiveQuotas(config.quotas, {
        boards: 3,
        members_per_board: -1,
        stored_bytes: 1.5,
        generations_per_board: 0,
      }),
    ).toEqual({ ...config.quotas, boards: 3, generations_per_board: 0 });
  });

  it('writes the setting as a literal of the tenant id and its effective quotas, once per record', () => {
    const record = tenant({ boards: 7 });
    const literal = quotaSettingLiteral(config, record);
    expect(literal).toBe(
      `'{"tenant":"${record.id}","boards":7,"generations_per_board":10000,"members_per_board":1000,"stored_bytes":1073741824}'`,
    );
    expect(quotaSettingLiteral(config, record)).toBe(literal);
    expect(quotaSettingLiteral(config, tenant())).toContain('"boards":50');
  });
});
