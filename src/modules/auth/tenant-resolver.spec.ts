import { loadConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';
import { TenantResolver, type TenantSelection } from './tenant-resolver';

/** Pure selection rules; admission through HTTP is test/e2e/admission-matrix.e2e-spec.ts. */

const single = new TenantResolver(loadConfig({}));
const multi = new TenantResolver(loadConfig({ BOARDS_MULTI_TENANT_MODE: 'true' }));
const custom = new TenantResolver(
  loadConfig({ BOARDS_MULTI_TENANT_MODE: 'true', BOARDS_JWT_TENANT_CLAIM: 'https://x.test/org' }),
);

function outcome(
  resolver: TenantResolver,
  claims: Record<string, unknown>,
  header?: string | string[],
): TenantSelection | { status: number } {
  try {
    return resolver.resolve({ claims, header });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { status: err.code === ErrorCode.BadRequest ? 400 : 403 };
  }
}

const pick = (slug: string, claimed: boolean, isDefault = false) => ({ slug, claimed, isDefault });

describe('TenantResolver: only the configured claim, exactly', () => {
  it.each<[string, Record<string, unknown>, TenantSelection | { status: number }]>([
    ['a slug', { tenant: 'acme' }, pick('acme', true)],
    ['an array of one', { tenant: ['acme'] }, pick('acme', true)],
    ['duplicates collapse', { tenant: ['acme', 'acme'] }, pick('acme', true)],
    ['two tenants need X-Tenant', { tenant: ['acme', 'globex'] }, { status: 400 }],
    ['an empty array lists none', { tenant: [] }, { status: 400 }],
    ['upper case is not folded', { tenant: 'ACME' }, { status: 403 }],
    ['spaces are not trimmed', { tenant: ' acme ' }, { status: 403 }],
    ['accents are not folded', { tenant: 'ácme' }, { status: 403 }],
    ['full-width letters are not folded', { tenant: 'ａｃｍｅ' }, { status: 403 }],
    ['a name is not a slug', { tenant: 'Acme Corp' }, { status: 403 }],
    ['an empty string', { tenant: '' }, { status: 403 }],
    ['null', { tenant: null }, { status: 403 }],
    ['a number', { tenant: 7 }, { status: 403 }],
    ['an object', { tenant: { slug: 'acme' } }, { status: 403 }],
    ['an array with a non-slug', { tenant: ['acme', 'Globex'] }, { status: 403 }],
    ['an array with a number', { tenant: ['acme', 1] }, { status: 403 }],
    [
      'more than 100 tenants',
      { tenant: Array.from({ length: 101 }, (_, i) => `t${i}`) },
      { status: 403 },
    ],
    ['no claim', {}, { status: 400 }],
    ...[
      'org',
      'organization',
      'org_slug',
      'org_name',
      'namespace',
      'group',
      'team',
      'workspace',
    ].map((claim): [string, Record<string, unknown>, { status: number }] => [
      `the retired "${claim}" claim names nothing`,
      { [claim]: 'acme' },
      { status: 400 },
    ]),
    ['an e-mail names nothing', { email: 'x@acme.example', email_verified: true }, { status: 400 }],
  ])('multi-tenant, %s', (_name, claims, expected) => {
    expect(outcome(multi, claims)).toEqual(expected);
  });

  it('a configured claim replaces `tenant`, which then names nothing', () => {
    expect(outcome(custom, { 'https://x.test/org': 'acme' })).toEqual(pick('acme', true));
    expect(outcome(custom, { tenant: 'acme' })).toEqual({ status: 400 });
    expect(outcome(custom, { tenant: 'acme', 'https://x.test/org': 'globex' })).toEqual(
      pick('globex', true),
    );
  });

  it('ignores inherited properties (a claim named like an Object method)', () => {
    const named = new TenantResolver(
      loadConfig({ BOARDS_MULTI_TENANT_MODE: 'true', BOARDS_JWT_TENANT_CLAIM: 'constructor' }),
    );
    expect(outcome(named, {})).toEqual({ status: 400 });
  });
});

describe('TenantResolver: X-Tenant chooses, nothing overrides it', () => {
  it('the header wins over the claim, and says whether the claim lists it', () => {
    expect(outcome(multi, { tenant: 'acme' }, 'globex')).toEqual(pick('globex', false));
    expect(outcome(multi, { tenant: ['acme', 'globex'] }, 'globex')).toEqual(pick('globex', true));
    expect(outcome(multi, {}, 'globex')).toEqual(pick('globex', false));
  });

  it('a malformed header is 400 before anything else, echoing at most 100 characters', () => {
    for (const header of ['ACME', 'ac me', 'acme_corp', '-acme', 'a'.repeat(51), 'ácme']) {
      expect(outcome(multi, { tenant: 'acme' }, header)).toEqual({ status: 400 });
    }
    expect(outcome(multi, {}, ['acme', 'globex'])).toEqual({ status: 400 });
    const error = (() => {
      try {
        multi.resolve({ claims: {}, header: 'X'.repeat(500) });
      } catch (err) {
        return err as DomainError;
      }
      return undefined;
    })();
    expect(error?.extra).toEqual({ multi_tenant_mode: true, provided_tenant: 'X'.repeat(100) });
  });
});

describe('TenantResolver: single-tenant mode', () => {
  it('no claim and no header select the default tenant, which every caller belongs to', () => {
    expect(outcome(single, {})).toEqual(pick('default', false, true));
    expect(outcome(single, {}, 'default')).toEqual(pick('default', false, true));
    expect(outcome(single, { tenant: 'default' })).toEqual(pick('default', true, true));
  });

  it('another tenant is selected like in multi-tenant mode, never as the default', () => {
    expect(outcome(single, { tenant: 'acme' })).toEqual(pick('acme', true));
    expect(outcome(single, {}, 'acme')).toEqual(pick('acme', false));
  });
});
