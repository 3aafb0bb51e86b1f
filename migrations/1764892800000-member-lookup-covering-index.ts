import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The board list joins the caller's memberships (`board_members` by tenant and user) for every
 * board it considers. With board_id, role and id included in the (tenant_id, user_id) index, that
 * join is an index-only scan: a user's memberships sit on one or two index pages instead of a heap
 * page per board, which is what keeps a list spread over thousands of tenants close to one that
 * hits the same tenant's pages over and over. Replaces board_members_user_idx (same leading
 * columns).
 */
export class MemberLookupCoveringIndex1764892800000 implements MigrationInterface {
  name = 'MemberLookupCoveringIndex1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE INDEX board_members_user_cover_idx ON board_members (tenant_id, user_id) INCLUDE (board_id, role, id);
DROP INDEX board_members_user_idx;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE INDEX board_members_user_idx ON board_members (tenant_id, user_id);
DROP INDEX board_members_user_cover_idx;`);
  }
}
