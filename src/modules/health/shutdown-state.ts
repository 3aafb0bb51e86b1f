import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';

/** Readiness turns 503 as soon as shutdown begins, before the listener closes. */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private drainingSince: Date | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(): void {
    this.drainingSince ??= new Date();
  }

  beforeApplicationShutdown(): void {
    this.startDraining();
  }
}
