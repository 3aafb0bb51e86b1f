import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { TenantsModule } from 'src/modules/tenants/tenants.module';
import { BoardHandover } from './board-handover';
import { BoardSamples } from './board-samples';
import { BoardMembersController } from './board-members.controller';
import { BoardMembersRepository } from './board-members.repository';
import { BoardMembersService } from './board-members.service';
import { BoardsController } from './boards.controller';
import { BoardsRepository } from './boards.repository';
import { BoardsService } from './boards.service';
import { GenerationsController } from './generations.controller';
import { GenerationsRepository } from './generations.repository';
import { GenerationsService } from './generations.service';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyRepository } from './idempotency.repository';

@Module({
  imports: [AuditModule, TenantsModule],
  controllers: [BoardsController, BoardMembersController, GenerationsController],
  providers: [
    BoardHandover,
    BoardSamples,
    BoardsRepository,
    BoardMembersRepository,
    GenerationsRepository,
    IdempotencyRepository,
    BoardsService,
    BoardMembersService,
    GenerationsService,
    IdempotencyInterceptor,
  ],
})
export class BoardsModule {}
