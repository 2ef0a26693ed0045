/**
 * Live counts that feature plugins offer to whoever watches the server (a Prometheus exporter, an
 * operator console), without either side importing the other: the `gauges` service. A feature
 * registers readings once; a reader asks for them when it needs them (a scrape, a once-a-second
 * view), so a count costs nothing between reads.
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

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export class GaugeRegistry {
  private readonly readings = new Set<GaugeReading>();

  /** Adds readings; returns the function that removes them again (call it from `onClose`). */
  register(...readings: GaugeReading[]): () => void {
    for (const reading of readings) this.readings.add(reading);
    return () => {
      for (const reading of readings) this.readings.delete(reading);
    };
  }

  /** Every reading's current value; a reading that throws is left out rather than failing the others. */
  sample(): GaugeSample[] {
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
}

/** The two readings of a topic's subscription registry: subscriptions and subscribed names. */
export function subscriptionGauges(topic: string, registry: { readonly size: { names: number; subscriptions: number } }): GaugeReading[] {
  const labels = { topic };
  return [
    { name: 'subscriptions', help: 'Subscriptions held on this node (one session on one name), by topic', labels, read: () => registry.size.subscriptions },
    { name: 'subscribed_names', help: 'Names with at least one subscriber on this node, by topic', labels, read: () => registry.size.names },
  ];
}
