import { User } from 'src/modules/auth/user.entity';
import { Board } from 'src/modules/boards/board.entity';
import { BoardMember } from 'src/modules/boards/board-member.entity';
import { Generation } from 'src/modules/boards/generation.entity';
import { IdempotencyKey } from 'src/modules/boards/idempotency-key.entity';
import { AuditEvent } from 'src/modules/audit/audit-event.entity';
import { Tenant } from 'src/modules/tenants/tenant.entity';

/**
 * Every entity the runtime data source maps, assembled here at the application's root (core/
 * does not know the features): passed to DatabaseModule.forRoot and DatabaseTarget.open.
 */
export const ENTITIES = [Tenant, User, Board, BoardMember, Generation, AuditEvent, IdempotencyKey];
