import { loadConfig } from 'src/core/config/boards-config';
import { DomainError } from 'src/core/errors/domain-error';
import type { TenantRecord } from 'src/core/cache/tenant-cache';
import { TenantResolver, emailDomainSlug } from './tenant-resolver';

/** Pure rules of the resolver; the HTTP table is test/e2e/auth-tenant-resolution.e2e-spec.ts. */

describe('emailDomainSlug', () => {
  it.each([
    ['ann@acme-corp.com', 'acme-corp'],
    ['ann@Acme.COM', 'acme'],
    ['ann@mail.acme.com', undefined],
    ['ann@gmail.com', undefined],
    ['ann@yahoo.co.uk', undefined],
    ['ann@protonmail.com', undefined],
    ['ann@localhost', undefined],
    ['ann@acme..com', undefined],
    ['@acme.com', undefined],
    ['no-at-sign', undefined],
  ])('%s → %s', (email, slug) => {
    expect(emailDomainSlug({ email })).toBe(slug);
  });

  it('skips addresses the issuer marks unverified', () => {
    expect(emailDomainSlug({ email: 'ann@acme.com', email_verified: false })).toBeUndefined();
    expect(emailDomainSlug({ email: 'ann@acme.com', email_verified: 'false' })).toBeUndefined();
    expect(emailDomainSlug({ email: 'ann@acme.com', email_verified: true })).toBe('acme');
  });
});

describe('TenantResolver', () => {
  const tenants: Record<string, TenantRecord> = {
    acme: { id: 'a', slug: 'acme', name: 'Acme', status: 'active' },
    default: { id: 'd', slug: 'default', name: 'Default', status: 'active' },
  };
  const lookup = jest.fn(async (slug: string) => tenants[slug]);
  const resolver = (env: Record<string, string> = {}) => new TenantResolver(loadConfig(env));

  beforeEach(() => lookup.mockClear());

  it('validates the header before anything is looked up', async () => {
    await expect(
      resolver().resolve({ claims: { tenant: 'acme' }, header: 'Acme' }, lookup),
    ).rejects.toBeInstanceOf(DomainError);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('echoes at most 100 characters of a malformed header', async () => {
    const error: unknown = await resolver({ BOARDS_MULTI_TENANT_MODE: 'true' })
      .resolve({ claims: {}, header: 'X'.repeat(500) }, lookup)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).extra).toEqual({
      multi_tenant_mode: true,
      provided_tenant: 'X'.repeat(100),
    });
  });

  it('looks up only the e-mail tenant in multi-tenant mode, never the default', async () => {
    const result = await resolver({ BOARDS_MULTI_TENANT_MODE: 'true' }).resolve(
      { claims: { email: 'x@acme.com' }, header: undefined },
      lookup,
    );
    expect(result).toEqual({ tenant: tenants.acme, source: 'email_domain' });
    expect(lookup.mock.calls).toEqual([['acme']]);
  });

  it('reports which rule decided', async () => {
    const single = resolver();
    await expect(
      single.resolve({ claims: { org: 'acme' }, header: undefined }, lookup),
    ).resolves.toMatchObject({ source: 'claim' });
    await expect(single.resolve({ claims: {}, header: 'acme' }, lookup)).resolves.toMatchObject({
      source: 'header',
    });
    await expect(single.resolve({ claims: {}, header: undefined }, lookup)).resolves.toMatchObject({
      source: 'default',
    });
  });
});
