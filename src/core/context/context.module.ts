import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CLS_ID, CLS_REQ, CLS_RES, ClsModule, ClsService } from 'nestjs-cls';
import { TenantContext } from './tenant-context';

/**
 * Opens the AsyncLocalStorage store for every request, first thing in Fastify's onRequest chain:
 * what nestjs-cls's ClsMiddleware does (id, raw request and response in the store), as a Fastify
 * hook rather than a Nest middleware, which would route every request through middie's path
 * matching. The request id is Fastify's (which honours a well-formed incoming X-Request-Id), so
 * logs, error bodies and the response header agree.
 */
@Injectable()
export class RequestContextHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly cls: ClsService,
  ) {}

  onModuleInit(): void {
    // Absent in an application context without HTTP (CLI commands).
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onRequest', (request, reply, done) => {
      this.cls.run(() => {
        this.cls.set(CLS_ID, String(request.id));
        this.cls.set(CLS_REQ, request.raw);
        this.cls.set(CLS_RES, reply.raw);
        done();
      });
    });
  }
}

@Global()
@Module({
  imports: [ClsModule.forRoot({ global: true, middleware: { mount: false } })],
  providers: [TenantContext, RequestContextHook],
  exports: [TenantContext],
})
export class ContextModule {}
