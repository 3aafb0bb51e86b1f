import { User } from 'src/modules/auth/user.entity';
import { Board } from 'src/modules/boards/board.entity';
import { BoardMember } from 'src/modules/boards/board-member.entity';
import { Generation } from 'src/modules/boards/generation.entity';
import { IdempotencyKey } from 'src/modules/boards/idempotency-key.entity';
import { AuditEvent } from 'src/modules/tenants/audit-event.entity';
import { Tenant } from 'src/modules/tenants/tenant.entity';

/** Every entity mapped by the data source, in one list. */
export const ENTITIES = [Tenant, User, Board, BoardMember, Generation, AuditEvent, IdempotencyKey];
