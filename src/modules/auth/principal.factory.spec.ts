import { loadConfig } from 'src/core/config/boards-config';
import { buildPrincipal, developmentPrincipal, isPlatformAdmin } from './principal.factory';

const auth = (env: Record<string, string> = {}) => loadConfig(env).auth;

describe('isPlatformAdmin', () => {
  const subjects = auth({ BOARDS_PLATFORM_ADMIN_SUBJECTS: 'root, jwt:ops, oidc:idp.test:eve' });
  const role = auth({ BOARDS_PLATFORM_ADMIN_ROLE: 'boards-admin' });

  it.each([
    ['a bare subject, any provider', 'oidc:idp.test', 'root', true],
    ['a provider-qualified subject, that provider', 'jwt', 'ops', true],
    ['a provider-qualified subject, another provider', 'oidc:idp.test', 'ops', false],
    ['an issuer-qualified subject', 'oidc:idp.test', 'eve', true],
    ['an unlisted subject', 'jwt', 'mallory', false],
    // A subject that spells a qualified entry is compared with bare entries only.
    ['a jwt sub spelling the oidc entry', 'jwt', 'oidc:idp.test:eve', false],
    ['a jwt sub spelling the jwt entry', 'jwt', 'jwt:ops', false],
    ['an oidc sub spelling the jwt entry', 'oidc:idp.test', 'jwt:ops', false],
    ['another issuer with the same sub', 'oidc:other.test', 'eve', false],
    ['an issuer whose name extends the entry', 'oidc:idp.test:eve', 'x', false],
  ])('BOARDS_PLATFORM_ADMIN_SUBJECTS: %s → %s', (_, provider, subject, expected) => {
    expect(isPlatformAdmin(provider, subject, {}, subjects)).toBe(expected);
  });

  it.each([
    [{ roles: ['x', 'boards-admin'] }, true],
    [{ role: 'boards-admin' }, true],
    [{ groups: 'a,boards-admin' }, true],
    [{ realm_access: { roles: ['boards-admin'] } }, true],
    [{ roles: ['Boards-Admin'] }, false],
    [{ roles: 'boards-admins' }, false],
    [{ scope: 'boards-admin' }, false],
    [{ realm_access: 'boards-admin' }, false],
  ])('BOARDS_PLATFORM_ADMIN_ROLE with claims %j → %s', (claims, expected) => {
    expect(isPlatformAdmin('jwt', 'someone', claims, role)).toBe(expected);
  });

  it('no configuration makes nobody a platform admin', () => {
    expect(isPlatformAdmin('jwt', 'root', { roles: ['admin'] }, auth())).toBe(false);
  });
});

describe('BOARDS_PLATFORM_ADMIN_SUBJECTS is refused when an entry is ambiguous', () => {
  it('a bare entry with several identity namespaces trusted', () => {
    expect(() =>
      auth({
        BOARDS_AUTH_PROVIDER: 'jwt,oidc',
        BOARDS_JWT_SECRET: 'x'.repeat(32),
        BOARDS_OIDC_ISSUER: 'https://idp.test',
        BOARDS_OIDC_CLIENT_ID: 'boards',
        BOARDS_PLATFORM_ADMIN_SUBJECTS: 'root',
      }),
    ).toThrow(/"root" is ambiguous .*qualify it/);
    expect(() =>
      auth({
        BOARDS_AUTH_PROVIDER: 'oidc',
        BOARDS_OIDC_ISSUER: 'https://a.test,https://b.test',
        BOARDS_OIDC_CLIENT_ID: 'boards',
        BOARDS_PLATFORM_ADMIN_SUBJECTS: 'oidc:a.test:root, root',
      }),
    ).toThrow(/"root" is ambiguous/);
  });

  it('issuers whose namespaces run into each other (a host and the same host with a port)', () => {
    // `oidc:idp.test` + `8443:root` and `oidc:idp.test:8443` + `root` would be the same identity
    // text in cache keys, registrations and admin entries alike.
    for (const issuers of [
      'https://idp.test,https://idp.test:8443',
      'https://idp.test/realms,https://idp.test/realms:x',
    ]) {
      expect(() =>
        auth({
          BOARDS_AUTH_PROVIDER: 'oidc',
          BOARDS_OIDC_ISSUER: issuers,
          BOARDS_OIDC_CLIENT_ID: 'boards',
        }),
      ).toThrow(/BOARDS_OIDC_ISSUER: the identity namespaces .* cannot be told apart/);
    }
    expect(
      auth({
        BOARDS_AUTH_PROVIDER: 'oidc',
        BOARDS_OIDC_ISSUER: 'https://idp.test:8443,https://idp.test:8444',
        BOARDS_OIDC_CLIENT_ID: 'boards',
      }).oidc.issuers,
    ).toHaveLength(2);
  });

  it('qualified entries are accepted with several namespaces, bare ones with one', () => {
    const chain = auth({
      BOARDS_AUTH_PROVIDER: 'jwt,oidc',
      BOARDS_JWT_SECRET: 'x'.repeat(32),
      BOARDS_OIDC_ISSUER: 'https://idp.test',
      BOARDS_OIDC_CLIENT_ID: 'boards',
      BOARDS_PLATFORM_ADMIN_SUBJECTS: 'jwt:root,oidc:idp.test:eve',
    });
    expect(isPlatformAdmin('jwt', 'root', {}, chain)).toBe(true);
    expect(isPlatformAdmin('oidc:idp.test', 'root', {}, chain)).toBe(false);
    expect(isPlatformAdmin('oidc:idp.test', 'eve', {}, chain)).toBe(true);
    expect(isPlatformAdmin('jwt', 'eve', {}, chain)).toBe(false);
  });
});

describe('buildPrincipal', () => {
  it('takes the issuer and email_verified exactly as the token states them', () => {
    const principal = (claims: Record<string, unknown>) =>
      buildPrincipal('jwt', { sub: 's', ...claims }, auth());
    expect(principal({ iss: 'https://login.test', email_verified: true })).toMatchObject({
      issuer: 'https://login.test',
      emailVerified: true,
    });
    for (const verified of ['true', 1, 'yes', null, undefined, false]) {
      expect(principal({ email_verified: verified }).emailVerified).toBe(false);
    }
    expect(principal({ iss: 42 }).issuer).toBeUndefined();
  });

  it('takes e-mail and name from the claims, dropping values that are not usable', () => {
    const principal = buildPrincipal(
      'jwt',
      { sub: 's', email: 'not-an-email', preferred_username: ' ann ' },
      auth(),
    );
    expect(principal).toMatchObject({ subject: 's', email: undefined, name: 'ann' });
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('keeps a frozen copy of the claims, a __proto__ claim as a plain property', () => {
    const claims = JSON.parse(
      '{"sub":"s","tenant":"acme","roles":["a"],"__proto__":{"isPlatformAdmin":true}}',
    ) as Record<string, unknown> & { sub: string };
    const principal = buildPrincipal('jwt', claims, auth());
    expect(principal.claims).not.toBe(claims);
    expect(principal.claims).toEqual(claims);
    expect(Object.isFrozen(principal.claims)).toBe(true);
    expect(Object.getPrototypeOf(principal.claims)).toBe(Object.prototype);
    expect(Object.hasOwn(principal.claims, '__proto__')).toBe(true);
    expect((principal.claims as { isPlatformAdmin?: unknown }).isPlatformAdmin).toBeUndefined();
    expect(principal.isPlatformAdmin).toBe(false);
  });

  it('the development principal follows the same platform-admin rule', () => {
    expect(developmentPrincipal(auth()).isPlatformAdmin).toBe(false);
    expect(
      developmentPrincipal(auth({ BOARDS_PLATFORM_ADMIN_SUBJECTS: 'dev-user' })).isPlatformAdmin,
    ).toBe(true);
  });
});
