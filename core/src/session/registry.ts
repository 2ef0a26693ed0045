import type { Logger } from 'pino';
import type { Session } from './session.ts';

/**
 * Every live session of one kernel, and the heartbeat sweep that closes the silent ones
 * (PROTOCOL §6.3: no frame for twice the heartbeat interval).
 */
export class SessionRegistry {
  private readonly all = new Set<Session>();
  private readonly loggedIn = new Set<Session>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.all.size;
  }

  get authenticated(): number {
    return this.loggedIn.size;
  }

  [Symbol.iterator](): IterableIterator<Session> {
    return this.all.values();
  }

  add(session: Session): void {
    this.all.add(session);
  }

  markAuthenticated(session: Session): void {
    if (this.all.has(session)) this.loggedIn.add(session);
  }

  remove(session: Session): void {
    this.all.delete(session);
    this.loggedIn.delete(session);
  }

  /** Sweeps at half the interval, so a silent socket goes between 2 and 2.5 intervals after its last frame. */
  startHeartbeat(interval: number): void {
    const limit = 2 * interval;
    this.sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const session of this.all) {
        if (now - session.lastSeen > limit) {
          this.log.info({ session: session.id, user: session.userId, silentMs: now - session.lastSeen }, 'closing a silent connection (missed heartbeats)');
          session.connection.terminate();
          session.closed();
        }
      }
    }, interval / 2);
    this.sweepTimer.unref();
  }

  stopHeartbeat(): void {
    clearInterval(this.sweepTimer);
  }
}
