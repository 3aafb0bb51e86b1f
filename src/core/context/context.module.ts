import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import type { FastifyRequest } from 'fastify';
import { TenantContext } from './tenant-context';

/**
 * Mounts the AsyncLocalStorage store on every route. The request id is Fastify's (which honours a
 * well-formed incoming X-Request-Id), so logs, error bodies and the response header agree.
 */
@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        generateId: true,
        idGenerator: (req: FastifyRequest['raw'] & { id?: string }) => String(req.id ?? ''),
      },
    }),
  ],
  providers: [TenantContext],
  exports: [TenantContext],
})
export class ContextModule {}
