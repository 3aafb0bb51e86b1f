import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from 'src/core/database/driver-internals';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { NO_TENANT_KEY } from 'src/common/decorators/no-tenant.decorator';
import { PLATFORM_ADMIN_KEY } from 'src/common/decorators/platform-admin.decorator';
import { IS_PUBLIC_KEY } from 'src/common/decorators/public.decorator';
import { directRoutesOf } from 'src/core/http/direct-routes';
import { jwtAuthEnv } from 'test/factories/tokens';
import { startApp, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Who can reach each endpoint, as a reviewed snapshot: every route of the running application
 * (read from Fastify's route table) with the guard marks of its Nest handler (read with the
 * Reflector, exactly as the guards read them): `public` (@Public: no token, no tenant),
 * `platform-admin` (@PlatformAdmin), `no-tenant` (@NoTenant: authenticated, no tenant),
 * `tenant` (authenticated and bound to a tenant: the default). Routes that Fastify serves without
 * a Nest controller (the Swagger UI) are listed as such. Plus the global guards in force.
 *
 * A changed snapshot means a change in who can call something: review it, then update it with
 * `node --experimental-vm-modules node_modules/jest/bin/jest.js test/e2e/routes-snapshot.e2e-spec.ts -u`.
 */

interface FastifyRoute {
  readonly method: string;
  readonly url: string;
}

/** Parses `fastify.printRoutes({ commonPrefix: false })` into method + full URL pairs. */
function parseRouteTree(tree: string): FastifyRoute[] {
  const routes: FastifyRoute[] = [];
  const segments: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    segments.length = match[1].length / 4;
    segments.push(match[2]);
    for (const method of match[3]?.split(', ') ?? []) {
      routes.push({ method, url: segments.join('') });
    }
  }
  return routes;
}

function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((part) => part.split('/'))
    .filter((segment) => segment.length > 0)
    .join('/')}`;
}

describe('routes and who can reach them', () => {
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

  it('the hot routes are dispatched directly: exactly the listed routes (see direct-routes.e2e-spec)', () => {
    expect(directRoutesOf(server.app).sort()).toEqual([
      'GET /api/boards',
      'GET /api/boards/:board_id',
      'POST /api/boards',
    ]);
  });

  it('every route with its guard marks', () => {
    const app = server.app;
    const fastify = app.getHttpAdapter().getInstance();
    const reflector = app.get(Reflector);
    const scanner = new MetadataScanner();
    const modules = app.get(ModulesContainer);
    const discovery = new DiscoveryService(modules);

    const lines = new Map<string, string>();
    const unmatched: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
      if (!controller) continue;
      const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[]].flat();
      for (const name of scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name] as object;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (paths === undefined || method === undefined) continue;
        const targets = [handler as () => void, controller];
        const mark = (key: string) => reflector.getAllAndOverride<boolean>(key, targets) === true;
        const marks = mark(IS_PUBLIC_KEY)
          ? ['public']
          : [
              ...(mark(PLATFORM_ADMIN_KEY) ? ['platform-admin'] : []),
              mark(NO_TENANT_KEY) ? 'no-tenant' : 'tenant',
            ];
        for (const prefix of prefixes) {
          for (const path of [paths].flat()) {
            const relative = joinPath(prefix, path);
            // The global prefix applies unless the route is excluded from it; Fastify knows which.
            const url = [joinPath('api', relative), relative].find((candidate) =>
              fastify.hasRoute({ method: RequestMethod[method], url: candidate }),
            );
            if (!url) {
              unmatched.push(`${RequestMethod[method]} ${relative} (${controller.name}.${name})`);
              continue;
            }
            lines.set(
              `${RequestMethod[method]} ${url}`,
              `${controller.name}.${name}: ${marks.join(', ')}`,
            );
          }
        }
      }
    }
    expect(unmatched).toEqual([]);

    // Every route Fastify serves (HEAD mirrors GET), with the controller marks or none.
    const served = parseRouteTree(fastify.printRoutes({ commonPrefix: false })).filter(
      (route) => route.method !== 'HEAD',
    );
    expect(served.length).toBeGreaterThanOrEqual(lines.size);
    const routes = served
      .map(({ method, url }) => {
        const key = `${method} ${url}`;
        return `${key.padEnd(52)} ${lines.get(key) ?? 'no controller (served by Fastify plugin): public'}`;
      })
      .sort();
    expect(served.filter((route) => lines.has(`${route.method} ${route.url}`))).toHaveLength(
      lines.size,
    );

    const globalGuards = [...modules.values()]
      .flatMap((module) => [...module.providers.entries()])
      .filter(([token]) => typeof token === 'string' && token.startsWith('APP_GUARD'))
      .map(([, wrapper]) => (wrapper.metatype as { name?: string } | null)?.name ?? 'anonymous')
      .sort();

    expect({ globalGuards, routes }).toMatchSnapshot();
  });
});
