import type { Logger } from 'pino';
import type { Session } from './session.ts';

/**
 * Every live session of one kernel, the count per address of those not logged in (for
 * `maxUnauthenticatedPerAddress`), and the heartbeat sweep that closes the silent ones
 * (PROTOCOL §6.3: no frame for twice the heartbeat interval).
 */
export class SessionRegistry {
  private readonly all = new Set<Session>();
  private readonly loggedIn = new Set<Session>();
  /** Sessions not logged in, per remote address; ephemeral (HTTP API) sessions are not counted. */
  private readonly waitingByAddress = new Map<string, number>();
  /** Addresses at the cap that have been logged once, so an attack gives one warn line, not one per socket. */
  private readonly warnedAddresses = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    /** Sessions not logged in allowed per address, or `false` for no cap. */
    private readonly maxUnauthenticatedPerAddress: number | false = false,
  ) {}

  get size(): number {
    return this.all.size;
  }

  get authenticated(): number {
    return this.loggedIn.size;
  }

  /** Connections from `address` that are open and not logged in. */
  unauthenticatedFrom(address: string): number {
    return this.waitingByAddress.get(address) ?? 0;
  }

  [Symbol.iterator](): IterableIterator<Session> {
    return this.all.values();
  }

  /** Adds a new session; false (and nothing added) when its address is at `maxUnauthenticatedPerAddress`. */
  add(session: Session): boolean {
    const { remoteAddress, ephemeral } = session.info;
    if (ephemeral !== true) {
      const waiting = this.waitingByAddress.get(remoteAddress) ?? 0;
      const cap = this.maxUnauthenticatedPerAddress;
      if (cap !== false && waiting >= cap) {
        this.noteRefusal(remoteAddress, cap);
        return false;
      }
      this.waitingByAddress.set(remoteAddress, waiting + 1);
    }
    this.all.add(session);
    return true;
  }

  markAuthenticated(session: Session): void {
    if (!this.all.has(session) || this.loggedIn.has(session)) return;
    this.loggedIn.add(session);
    this.stopWaiting(session);
  }

  remove(session: Session): void {
    if (!this.all.delete(session)) return;
    if (!this.loggedIn.delete(session)) this.stopWaiting(session);
  }

  private stopWaiting(session: Session): void {
    const { remoteAddress, ephemeral } = session.info;
    if (ephemeral === true) return;
    const waiting = (this.waitingByAddress.get(remoteAddress) ?? 1) - 1;
    if (waiting > 0) this.waitingByAddress.set(remoteAddress, waiting);
    else this.waitingByAddress.delete(remoteAddress);
    // Hysteresis: an address hovering at the cap warns once; one that fell back to half may warn again.
    const cap = this.maxUnauthenticatedPerAddress;
    if (cap !== false && waiting <= cap / 2) this.warnedAddresses.delete(remoteAddress);
  }

  private noteRefusal(remoteAddress: string, cap: number): void {
    if (this.warnedAddresses.has(remoteAddress)) {
      this.log.debug({ remoteAddress, maxUnauthenticatedPerAddress: cap }, 'connection refused: too many connections from its address are not logged in');
      return;
    }
    this.warnedAddresses.add(remoteAddress);
    this.log.warn({ remoteAddress, maxUnauthenticatedPerAddress: cap }, 'connection refused: too many connections from its address are not logged in (further refusals for it are logged at debug level)');
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
