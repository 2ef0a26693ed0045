import type { Session } from '../session/session.ts';

/**
 * What feature plugins let operators see of their live state, without anyone importing them: the
 * `inspection` service. Features register readings once (counts, and which names a session holds);
 * readers (a Prometheus exporter, the operator console) ask when they need to (a scrape, a
 * once-a-second view), so nothing is counted between reads.
 */
export interface GaugeReading {
  /** A metric-style name without prefix, e.g. `subscriptions`; the same name must keep the same label keys. */
  readonly name: string;
  /** One line saying what is counted, where. */
  readonly help: string;
  /** Fixed labels telling this reading from others of the same name, e.g. `{ topic: 'event' }`. */
  readonly labels?: Readonly<Record<string, string>>;
  read(): number;
}

export interface GaugeSample {
  readonly name: string;
  readonly help: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The names one session holds of one kind: `event` subscriptions, `rpc provides`, `record listens`, ... */
export interface SessionNames {
  readonly kind: string;
  readonly names: readonly string[];
}

export type NamesOfSession = (session: Session) => ReadonlySet<string> | undefined;

interface SubscriptionSource {
  readonly size: { names: number; subscriptions: number };
  namesOf(session: Session): ReadonlySet<string>;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export class Inspection {
  private readonly readings = new Set<GaugeReading>();
  private readonly sessionNames = new Map<string, NamesOfSession>();

  /** Adds count readings; returns the function that removes them again (call it from `onClose`). */
  addGauges(...readings: GaugeReading[]): () => void {
    for (const reading of readings) this.readings.add(reading);
    return () => {
      for (const reading of readings) this.readings.delete(reading);
    };
  }

  /**
   * A topic's subscription registry: its totals become the `subscriptions` and `subscribed_names`
   * gauges (label `topic`), and `namesOf` lists a session's subscriptions under the topic's name.
   */
  addSubscriptions(topic: string, source: SubscriptionSource): () => void {
    const labels = { topic };
    const removeGauges = this.addGauges(
      { name: 'subscriptions', help: 'Subscriptions held on this node (one session on one name), by topic', labels, read: () => source.size.subscriptions },
      { name: 'subscribed_names', help: 'Names with at least one subscriber on this node, by topic', labels, read: () => source.size.names },
    );
    const removeNames = this.addSessionNames(topic, (session) => source.namesOf(session));
    return () => {
      removeGauges();
      removeNames();
    };
  }

  /** Names sessions hold of one kind (RPCs provided, listen patterns), for `namesOf`. */
  addSessionNames(kind: string, namesOf: NamesOfSession): () => void {
    this.sessionNames.set(kind, namesOf);
    return () => {
      if (this.sessionNames.get(kind) === namesOf) this.sessionNames.delete(kind);
    };
  }

  /** Every reading's current value; a reading that throws is left out rather than failing the others. */
  gauges(): GaugeSample[] {
    const samples: GaugeSample[] = [];
    for (const reading of this.readings) {
      let value: number;
      try {
        value = reading.read();
      } catch {
        continue;
      }
      samples.push({ name: reading.name, help: reading.help, labels: reading.labels ?? NO_LABELS, value });
    }
    return samples;
  }

  /** The names `session` holds, per kind that has any. */
  namesOf(session: Session): SessionNames[] {
    const held: SessionNames[] = [];
    for (const [kind, namesOf] of this.sessionNames) {
      const names = namesOf(session);
      if (names !== undefined && names.size > 0) held.push({ kind, names: [...names] });
    }
    return held;
  }
}
