import { Module } from '@nestjs/common';
import { TenantsModule } from 'src/modules/tenants/tenants.module';
import { BoardHandover } from './board-handover';
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
  imports: [TenantsModule],
  controllers: [BoardsController, BoardMembersController, GenerationsController],
  providers: [
    BoardHandover,
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
