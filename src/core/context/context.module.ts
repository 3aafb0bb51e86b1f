import {
  Global,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { ClsMiddleware, ClsModule } from 'nestjs-cls';
import type { FastifyRequest } from 'fastify';
import { TenantContext } from './tenant-context';

/**
 * Mounts the AsyncLocalStorage store on every route. The request id is Fastify's (which honours a
 * well-formed incoming X-Request-Id), so logs, error bodies and the response header agree.
 * Mounted here with a named wildcard (`{*path}`): nestjs-cls's own mount uses `*`, which Nest 11
 * converts with a warning at every start.
 */
@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: false,
        generateId: true,
        idGenerator: (req: FastifyRequest['raw'] & { id?: string }) => String(req.id ?? ''),
      },
    }),
  ],
  providers: [TenantContext],
  exports: [TenantContext],
})
export class ContextModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ClsMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
