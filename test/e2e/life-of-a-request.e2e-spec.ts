import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { globalEnhancersOf } from 'src/core/database/driver-internals';
import { directRoutesOf } from 'src/core/http/direct-routes';
import { jwtAuthEnv } from 'test/factories/tokens';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * docs/life-of-a-request.md names, in order, the global guards, interceptors, pipes and filter a
 * request meets, and the routes dispatched directly. This keeps it true: the lists are read from
 * the page and compared with the running application (the same one routes-snapshot describes).
 */

const PAGE = readFileSync(join(__dirname, '../../docs/life-of-a-request.md'), 'utf8');

/** The backticked names of the numbered list under the heading that starts with `heading`. */
function listUnder(heading: string): string[] {
  const start = PAGE.indexOf(`\n### ${heading}`);
  if (start < 0) throw new Error(`docs/life-of-a-request.md has no "### ${heading}" section`);
  const section = PAGE.slice(start + 1).split('\n### ')[0];
  return [...section.matchAll(/^\d+\. `([^`]+)`/gm)].map((match) => match[1]);
}

const nameOf = (enhancer: object): string => {
  const type = enhancer.constructor;
  return type === Object ? 'nestjs-cls pass-through' : type.name;
};

describe('docs/life-of-a-request.md', () => {
  let db: TestDatabase;
  let server: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startApp(
      db.config(jwtAuthEnv()),
      db.embedded ? { databaseTarget: db.target } : {},
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('names the global guards in the order Nest runs them', () => {
    expect(listUnder('Guards')).toEqual(globalEnhancersOf(server.app).guards.map(nameOf));
  });

  it('names the global interceptors in order', () => {
    expect(listUnder('Interceptors')).toEqual(
      globalEnhancersOf(server.app).interceptors.map(nameOf),
    );
  });

  it('names the global pipes and the exception filter', () => {
    const { pipes, filters } = globalEnhancersOf(server.app);
    expect(listUnder('Pipes')).toEqual(pipes.map(nameOf));
    expect(listUnder('Exception filter')).toEqual(filters.map(nameOf));
  });

  it('names the routes dispatched directly', () => {
    expect(listUnder('Direct routes').sort()).toEqual(directRoutesOf(server.app).sort());
  });
});
