import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

describe('test database harness', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('connects the runtime data source as the runtime role, subject to RLS', async () => {
    const [row] = await db.runtime.query('SELECT current_user::text AS role');
    expect(row.role).toBe(db.runtimeRole);
    await db.owner.query(`INSERT INTO tenants (name, slug) VALUES ('A', 'smoke-a')`);
    const [tenant] = await db.owner.query(`SELECT id FROM tenants WHERE slug = 'smoke-a'`);
    const runner = db.runtime.createQueryRunner();
    await runner.startTransaction();
    await runner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant.id]);
    await runner.query(`INSERT INTO users (auth_provider, auth_subject) VALUES ('test', 'u1')`);
    await runner.commitTransaction();
    await runner.release();
    expect(await db.runtime.query('SELECT * FROM users')).toHaveLength(0);
  });
});
