import { Injectable } from '@nestjs/common';

/** A membership that is ending, inside its tenant transaction. */
export interface MemberRemoval {
  readonly tenantId: string;
  /** The person leaving or removed. */
  readonly userId: string;
  /** Who takes over what the person owned (the removing admin, or the tenant's successor). */
  readonly receiverId: string;
}

/** What a feature did for a removal, for the audit event (e.g. `{ boards_transferred: 3 }`). */
export type RemovalReport = Readonly<Record<string, number>>;

export type MemberRemovalHook = (removal: MemberRemoval) => Promise<RemovalReport>;

/**
 * Features that keep rows pointing at a person (boards they own, board memberships) register here
 * to hand those over when the person's tenant membership ends. The hooks run in the removal's
 * tenant transaction, so the removal and its hand-over commit together. This keeps the tenants
 * module free of other features' tables: they come to it, not it to them.
 */
@Injectable()
export class MemberRemovalHooks {
  private readonly hooks: MemberRemovalHook[] = [];

  register(hook: MemberRemovalHook): void {
    this.hooks.push(hook);
  }

  async run(removal: MemberRemoval): Promise<RemovalReport> {
    const report: Record<string, number> = {};
    for (const hook of this.hooks) Object.assign(report, await hook(removal));
    return report;
  }
}
