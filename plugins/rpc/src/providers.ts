import type { Session } from '@deepstream-ts/core';
import type { Peer } from './rpc.ts';

interface Providers {
  readonly sessions: Session[];
  /** Round-robin cursor: the index the next pick starts from. */
  next: number;
}

/** Told when a name gains its first local provider (`true`) or loses its last (`false`). */
export type ProvidedChange = (name: string, provided: boolean) => void;

/**
 * Which local sessions provide which RPC names, both ways round, so that a vanished session is
 * removed in one call, and the choice of a local provider for a call. Other nodes' providers are
 * ClusterProviders' business: this class tells it when a name starts or stops being provided here.
 */
export class ProviderRegistry {
  private readonly byName = new Map<string, Providers>();
  private readonly bySession = new Map<Session, Set<string>>();

  constructor(private readonly onChange: ProvidedChange) {}

  /** @returns false when the session already provides the name. */
  add(name: string, session: Session): boolean {
    let names = this.bySession.get(session);
    if (names?.has(name) === true) return false;
    if (names === undefined) this.bySession.set(session, (names = new Set()));
    names.add(name);
    const providers = this.byName.get(name);
    if (providers !== undefined) providers.sessions.push(session);
    else {
      this.byName.set(name, { sessions: [session], next: 0 });
      this.onChange(name, true);
    }
    return true;
  }

  /** @returns false when the session did not provide the name. */
  remove(name: string, session: Session): boolean {
    const names = this.bySession.get(session);
    if (names === undefined || !names.delete(name)) return false;
    if (names.size === 0) this.bySession.delete(session);
    this.detach(name, session);
    return true;
  }

  /** Removes the session from every name it provides. */
  removeSession(session: Session): void {
    const names = this.bySession.get(session);
    if (names === undefined) return;
    this.bySession.delete(session);
    for (const name of names) this.detach(name, session);
  }

  /**
   * The next provider of `name` not in `tried`, round-robin so that load spreads evenly, or
   * undefined when every provider has been tried. The requester itself may be chosen.
   */
  pick(name: string, tried: readonly Peer[]): Session | undefined {
    const providers = this.byName.get(name);
    if (providers === undefined) return undefined;
    const { sessions } = providers;
    const count = sessions.length;
    for (let i = 0; i < count; i++) {
      const index = (providers.next + i) % count;
      const candidate = sessions[index] as Session;
      if (tried.length === 0 || !tried.includes(candidate)) {
        providers.next = (index + 1) % count;
        return candidate;
      }
    }
    return undefined;
  }

  /** Names with at least one provider, and sessions providing at least one name. */
  /** The names a session provides (for inspection). */
  namesOf(session: Session): ReadonlySet<string> | undefined {
    return this.bySession.get(session);
  }

  get size(): { names: number; sessions: number } {
    return { names: this.byName.size, sessions: this.bySession.size };
  }

  private detach(name: string, session: Session): void {
    const providers = this.byName.get(name);
    if (providers === undefined) return;
    const index = providers.sessions.indexOf(session);
    if (index < 0) return;
    providers.sessions.splice(index, 1);
    if (providers.sessions.length === 0) {
      this.byName.delete(name);
      return this.onChange(name, false);
    }
    // Keep the cursor on the provider that was next, so removals do not skew the rotation.
    if (index < providers.next) providers.next--;
    if (providers.next >= providers.sessions.length) providers.next = 0;
  }
}
