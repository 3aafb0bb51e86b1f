import { randomUUID } from 'node:crypto';
import {
  checkTenantDatabaseTemplate,
  databaseName,
  redactedUrl,
  tenantDatabaseUrl,
} from './tenant-database-url';

/** Tenant database URLs: one database per tenant, named plainly, never shared. */

const tenant = (slug: string) => ({ slug, id: randomUUID() });
const TEMPLATE = 'postgresql://boards_app:pw@db.internal:5432/boards_t_{slug}';

describe('tenant database URLs', () => {
  it('fills {slug} and {id} into the template', () => {
    const acme = tenant('acme');
    expect(tenantDatabaseUrl(TEMPLATE, acme)).toBe(
      'postgresql://boards_app:pw@db.internal:5432/boards_t_acme',
    );
    expect(databaseName(tenantDatabaseUrl('postgres://h/t_{id}', acme))).toBe(`t_${acme.id}`);
  });

  it.each([
    ['in the query only', 'postgresql://u@h/tenants?application_name={slug}'],
    ['in the user name only', 'postgresql://{slug}:pw@h/tenants'],
    ['in the host only', 'postgresql://u@{slug}.db.internal/tenants'],
    ['nowhere', 'postgresql://u@h/tenants'],
  ])(
    'refuses a template whose placeholder is %s: every tenant would share one database',
    (_, template) => {
      expect(() => checkTenantDatabaseTemplate(template)).toThrow(/database name \(the URL path\)/);
      expect(() => tenantDatabaseUrl(template, tenant('acme'))).toThrow(/database name/);
    },
  );

  it('refuses names that are not plain, too long, badly encoded, or not PostgreSQL URLs', () => {
    expect(() => tenantDatabaseUrl('postgresql://u@h/x;{slug}', tenant('a'))).toThrow(
      /not a database name/,
    );
    expect(() => tenantDatabaseUrl(TEMPLATE, { slug: 'A B', id: randomUUID() })).toThrow(
      /not a slug/,
    );
    expect(() => tenantDatabaseUrl(TEMPLATE, { slug: 'acme', id: 'x' })).toThrow(/not a tenant id/);
    expect(() =>
      tenantDatabaseUrl(`postgresql://u@h/${'x'.repeat(60)}{slug}`, tenant('abcd')),
    ).toThrow(/at most 63/);
    expect(() => databaseName('postgresql://u@h/%zz')).toThrow(/percent-encoding/);
    expect(() => databaseName('mysql://u@h/db')).toThrow(/postgres/);
  });

  it('redacts passwords for logs', () => {
    expect(redactedUrl('postgresql://u:secret@h/db?password=other')).toBe(
      'postgresql://u:***@h/db',
    );
  });
});
