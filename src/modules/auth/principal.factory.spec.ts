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

describe('buildPrincipal', () => {
  it('takes e-mail and name from the claims, dropping values that are not usable', () => {
    const principal = buildPrincipal(
      'jwt',
      { sub: 's', email: 'not-an-email', preferred_username: ' ann ' },
      auth(),
    );
    expect(principal).toMatchObject({ subject: 's', email: undefined, name: 'ann' });
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('the development principal follows the same platform-admin rule', () => {
    expect(developmentPrincipal(auth()).isPlatformAdmin).toBe(false);
    expect(
      developmentPrincipal(auth({ BOARDS_PLATFORM_ADMIN_SUBJECTS: 'dev-user' })).isPlatformAdmin,
    ).toBe(true);
  });
});
