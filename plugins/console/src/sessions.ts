import type { Inspection, Session, SessionNames } from '@deepstream-ts/core';

/** One row of the session list, as the page shows it. */
export interface SessionRow {
  readonly id: string;
  readonly user: string | null;
  readonly address: string;
  readonly transport: string;
  /** Milliseconds timestamp of the connection. */
  readonly since: number;
  readonly loggedIn: boolean;
  readonly operator: boolean;
  readonly subscriptions: readonly SessionNames[];
}

/**
 * The sessions of this node, from the `connection` and `disconnect` hooks (the kernel's registry is
 * not a plugin's to read), with the time each connected and a per-user count of logged-in sessions.
 */
export class SessionTable {
  private readonly since = new Map<Session, number>();
  private readonly byId = new Map<string, Session>();
  /** Logged-in sessions per user id: its size is the node's unique users. */
  private readonly users = new Map<string, number>();
  private readonly counted = new WeakSet<Session>();

  constructor(
    private readonly inspection: Inspection,
    private readonly isOperator: (session: Session) => boolean,
    private readonly hidden: (session: Session) => boolean,
  ) {}

  opened(session: Session): void {
    if (this.hidden(session) || session.info.ephemeral === true) return; // HTTP API requests live for one request
    this.since.set(session, Date.now());
    this.byId.set(session.id, session);
  }

  loggedIn(session: Session): void {
    const user = session.userId;
    if (user === undefined || !this.since.has(session)) return;
    this.counted.add(session);
    this.users.set(user, (this.users.get(user) ?? 0) + 1);
  }

  closed(session: Session): void {
    if (!this.since.delete(session)) return;
    this.byId.delete(session.id);
    const user = session.userId;
    if (user === undefined || !this.counted.has(session)) return;
    const left = (this.users.get(user) ?? 1) - 1;
    if (left > 0) this.users.set(user, left);
    else this.users.delete(user);
  }

  get connections(): number {
    return this.since.size;
  }

  get uniqueUsers(): number {
    return this.users.size;
  }

  find(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** Sessions whose id, user, address, transport or a subscribed name contains `query` (case-insensitive), newest first. */
  search(query: string, limit: number): { total: number; rows: SessionRow[] } {
    const needle = query.trim().toLowerCase();
    const rows: SessionRow[] = [];
    let total = 0;
    for (const [session, since] of this.since) {
      const subscriptions = this.inspection.namesOf(session);
      if (needle !== '' && !matches(session, subscriptions, needle)) continue;
      total++;
      if (rows.length < limit) rows.push(this.row(session, since, subscriptions));
    }
    rows.sort((a, b) => b.since - a.since);
    return { total, rows };
  }

  private row(session: Session, since: number, subscriptions: SessionNames[]): SessionRow {
    const { remoteAddress, transport } = session.info;
    return { id: session.id, user: session.userId ?? null, address: remoteAddress, transport, since, loggedIn: session.isAuthenticated, operator: this.isOperator(session), subscriptions };
  }
}

function matches(session: Session, subscriptions: readonly SessionNames[], needle: string): boolean {
  const { remoteAddress, transport } = session.info;
  for (const field of [session.id, session.userId ?? '', remoteAddress, transport]) if (field.toLowerCase().includes(needle)) return true;
  return subscriptions.some(({ names }) => names.some((name) => name.toLowerCase().includes(needle)));
}
