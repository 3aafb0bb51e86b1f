import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MemberRemovalHooks, type MemberRemoval } from 'src/modules/tenants/member-removal.hooks';
import { BoardMembersRepository } from './board-members.repository';
import { BoardsRepository } from './boards.repository';

/**
 * When a person's tenant membership ends, their board memberships go with them and the boards
 * they own pass to the receiver (the admin who removed them, or the tenant's successor admin), in
 * the removal's transaction.
 */
@Injectable()
export class BoardHandover implements OnModuleInit {
  constructor(
    private readonly hooks: MemberRemovalHooks,
    private readonly boards: BoardsRepository,
    private readonly members: BoardMembersRepository,
  ) {}

  onModuleInit(): void {
    this.hooks.register((removal) => this.handOver(removal));
  }

  async handOver(removal: MemberRemoval): Promise<{
    board_memberships_removed: number;
    boards_transferred: number;
  }> {
    const memberships = await this.members.deleteAllOf(removal.tenantId, removal.userId);
    const boards = await this.boards.transferAllOwned(
      removal.tenantId,
      removal.userId,
      removal.receiverId,
    );
    return { board_memberships_removed: memberships, boards_transferred: boards };
  }
}
