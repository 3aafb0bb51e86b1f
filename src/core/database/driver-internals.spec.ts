import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import {
  Controller,
  Get,
  HttpCode,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
  type CanActivate,
  type ExceptionFilter,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { ClsModule } from 'nestjs-cls';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  EXCEPTION_FILTERS_METADATA,
  globalEnhancersOf,
  GUARDS_METADATA,
  HTTP_CODE_METADATA,
  httpExecutionContext,
  INTERCEPTORS_METADATA,
  isClsPassThroughInterceptor,
  markTransactionOpen,
  METHOD_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
  responseUnderway,
  runtimePgPool,
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
  VERIFIED_AGAINST,
} from './driver-internals';
import { EMBEDDED_POOL, EmbeddedDatabase, isEmbeddedPool } from './embedded-database';

/**
 * driver-internals.ts reads fields its libraries do not document. These checks need no database:
 * the installed versions are the ones it was verified against, and each field or file it relies
 * on still has the shape it expects (the database-facing ones are checked against a real server
 * in test/integration/driver-internals.int-spec.ts).
 */

function installedVersion(pkg: string): string {
  const file = join(__dirname, '..', '..', '..', 'node_modules', pkg, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

describe('driver-internals: versions', () => {
  const packages = Object.keys(VERIFIED_AGAINST).filter((name) => name !== 'node');

  it.each(packages)('%s is the version driver-internals.ts was verified against', (pkg) => {
    const verified = VERIFIED_AGAINST[pkg as keyof typeof VERIFIED_AGAINST];
    const installed = installedVersion(pkg);
    if (installed !== verified) {
      throw new Error(
        `${pkg} ${installed} is installed, driver-internals.ts was verified against ${verified}: ` +
          're-verify driver-internals.ts (read the library code behind each function, run ' +
          'driver-internals.spec.ts and driver-internals.int-spec.ts) and update VERIFIED_AGAINST',
      );
    }
  });

  it('Node is of the major line driver-internals.ts was verified against', () => {
    const major = (version: string) => version.split('.')[0];
    if (major(process.versions.node) !== major(VERIFIED_AGAINST.node)) {
      throw new Error(
        `Node ${process.versions.node} runs, driver-internals.ts was verified against Node ` +
          `${VERIFIED_AGAINST.node}: re-verify driver-internals.ts and update VERIFIED_AGAINST`,
      );
    }
  });
});

describe('driver-internals: pg', () => {
  it('a pg Client has a socket (connection.stream) and a pipeline flag before it connects', () => {
    const client = new Client();
    const stream = (client as unknown as { connection?: { stream?: Record<string, unknown> } })
      .connection?.stream;
    expect(typeof stream?.cork).toBe('function');
    expect(typeof stream?.uncork).toBe('function');
    expect(typeof stream?.destroy).toBe('function');
    expect((client as unknown as { pipeline?: unknown }).pipeline).toBe(false);
  });
});

describe('driver-internals: TypeORM', () => {
  const dataSource = new DataSource({ type: 'postgres' });

  it('a postgres query runner keeps its transaction state in isTransactionActive and transactionDepth', () => {
    const runner = dataSource.createQueryRunner();
    const state = runner as unknown as Record<string, unknown>;
    expect(state.isTransactionActive).toBe(false);
    expect(state.transactionDepth).toBe(0);
    expect(typeof state.releasePostgresConnection).toBe('function');
    markTransactionOpen(runner);
    expect(runner.isTransactionActive).toBe(true);
    expect(state.transactionDepth).toBe(1);
  });

  it('runtimePgPool is undefined before the data source has a pool', () => {
    expect(runtimePgPool(dataSource)).toBeUndefined();
  });

  it('the embedded stand-in pool carries EMBEDDED_POOL and is never taken for a pg Pool', () => {
    // driverFor only builds the pool class; nothing touches the database until connect().
    const unopened = Object.create(EmbeddedDatabase.prototype) as EmbeddedDatabase;
    const { Pool: EmbeddedPool } = unopened.driverFor(null);
    const pool = new EmbeddedPool();
    expect((pool as unknown as Record<symbol, unknown>)[EMBEDDED_POOL]).toBe(true);
    expect(isEmbeddedPool(pool)).toBe(true);
    expect(isEmbeddedPool({ connect: () => undefined })).toBe(false);
    expect(isEmbeddedPool(undefined)).toBe(false);
    // Even with a pg Pool's counters, an embedded pool is not the runtime pg pool.
    Object.assign(pool, { totalCount: 0, idleCount: 0, waitingCount: 0 });
    const embeddedSource = { driver: { master: pool } } as unknown as DataSource;
    expect(runtimePgPool(embeddedSource)).toBeUndefined();
  });
});

describe('driver-internals: Node', () => {
  let server: Server;
  const seen: { during?: boolean; before?: boolean } = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      const socket = req.socket as Socket;
      seen.before = responseUnderway(socket);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      seen.during = responseUnderway(socket);
      res.end('ok');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  it("the socket's current response (_httpMessage) tells whether its headers are sent", async () => {
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((done, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port, agent: false }, (res) => {
        res.resume();
        res.on('end', done);
      });
      req.on('error', fail);
      req.end();
    });
    expect(seen).toEqual({ before: false, during: true });
  });
});

describe('driver-internals: Nest', () => {
  class Guard implements CanActivate {
    canActivate = () => true;
  }
  class Filter implements ExceptionFilter {
    catch = () => undefined;
  }
  class Interceptor implements NestInterceptor {
    intercept = () => {
      throw new Error('not called');
    };
  }

  @Controller('things')
  class ThingsController {
    @Get(':id')
    @HttpCode(203)
    @UseGuards(Guard)
    @UseInterceptors(Interceptor)
    @UsePipes(ValidationPipe)
    @UseFilters(Filter)
    @Throttle({ default: { limit: 3, ttl: 1_000, blockDuration: 2_000 } })
    @SkipThrottle({ burst: true })
    get(): string {
      return 'thing';
    }
  }

  it("Nest's decorators write the metadata keys re-exported here", () => {
    const handler = ThingsController.prototype.get;
    const read = (key: string, target: object = handler) => Reflect.getMetadata(key, target);
    expect(read(HTTP_CODE_METADATA)).toBe(203);
    expect(read(GUARDS_METADATA)).toEqual([Guard]);
    expect(read(INTERCEPTORS_METADATA)).toEqual([Interceptor]);
    expect(read(PIPES_METADATA)).toEqual([ValidationPipe]);
    expect(read(EXCEPTION_FILTERS_METADATA)).toEqual([Filter]);
    expect(read(PATH_METADATA)).toBe(':id');
    expect(read(METHOD_METADATA)).toBe(0); // RequestMethod.GET
    expect(read(PATH_METADATA, ThingsController)).toBe('things');
  });

  it("the throttler's decorators write the metadata keys re-exported here, per throttler name", () => {
    const handler = ThingsController.prototype.get;
    const read = (key: string) => Reflect.getMetadata(key, handler) as unknown;
    expect(read(THROTTLER_LIMIT + 'default')).toBe(3);
    expect(read(THROTTLER_TTL + 'default')).toBe(1_000);
    expect(read(THROTTLER_BLOCK_DURATION + 'default')).toBe(2_000);
    expect(read(THROTTLER_SKIP + 'burst')).toBe(true);
    for (const key of [THROTTLER_TRACKER, THROTTLER_KEY_GENERATOR]) {
      expect(typeof key).toBe('string');
      expect(key.length).toBeGreaterThan(0);
    }
  });

  it('httpExecutionContext builds the HTTP execution context Nest would', () => {
    const request = { url: '/things/1' };
    const reply = { sent: false };
    const handler = ThingsController.prototype.get;
    const context = httpExecutionContext(request, reply, ThingsController, handler);
    expect(context.getType()).toBe('http');
    expect(context.getClass()).toBe(ThingsController);
    expect(context.getHandler()).toBe(handler);
    expect(context.switchToHttp().getRequest()).toBe(request);
    expect(context.switchToHttp().getResponse()).toBe(reply);
  });

  describe('an application with global enhancers and an unmounted nestjs-cls interceptor', () => {
    let app: NestFastifyApplication;
    const guard = new Guard();
    const filter = new Filter();
    const pipe = new ValidationPipe();

    @Module({
      imports: [ClsModule.forRoot({ global: true, interceptor: { mount: false } })],
      providers: [{ provide: APP_INTERCEPTOR, useClass: Interceptor }],
    })
    class AppModule {}

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
        logger: false,
      });
      app.useGlobalGuards(guard);
      app.useGlobalFilters(filter);
      app.useGlobalPipes(pipe);
      await app.init();
    });

    afterAll(async () => {
      await app?.close();
    });

    it('globalEnhancersOf reads the useGlobal* and APP_* enhancers', () => {
      const global = globalEnhancersOf(app);
      // nestjs-cls adds a no-op guard as well as its no-op interceptor.
      expect(global.guards).toContain(guard);
      expect(global.filters).toHaveLength(1);
      expect(global.filters[0]).toBe(filter);
      expect(global.pipes).toHaveLength(1);
      expect(global.pipes[0]).toBe(pipe);
      expect(global.interceptors.some((each) => each instanceof Interceptor)).toBe(true);
    });

    it("isClsPassThroughInterceptor recognises nestjs-cls's no-op interceptor, nothing else", () => {
      const { interceptors } = globalEnhancersOf(app);
      expect(interceptors).toHaveLength(2);
      expect(interceptors.filter(isClsPassThroughInterceptor)).toHaveLength(1);
      expect(isClsPassThroughInterceptor(new Interceptor())).toBe(false);
    });
  });
});
