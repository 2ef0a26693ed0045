import { Gauge, type Registry } from 'prom-client';
import type { Inspection, Logger } from '@deepstream-ts/core';

/**
 * The counts feature plugins register on the kernel's `inspection` service (subscriptions per topic,
 * RPC providers and pending calls, listen providers, cached records, ...), one gauge family per
 * reading name. Plugins may be set up after this one, so families are made at the first scrape
 * that sees a name; `refresh` runs before every scrape and reads each count once.
 */
export function featureGauges(inspection: Inspection, registry: Registry, prefix: string, log: Logger): () => void {
  const families = new Map<string, Gauge | null>();
  return () => {
    for (const family of families.values()) family?.reset();
    for (const sample of inspection.gauges()) {
      let family = families.get(sample.name);
      if (family === undefined) {
        try {
          family = new Gauge({ name: `${prefix}${sample.name}`, help: sample.help, labelNames: Object.keys(sample.labels), registers: [registry] });
        } catch (error) {
          // A name another metric already has: reported once, then left out.
          log.warn({ err: error, gauge: sample.name }, 'a registered gauge cannot be exported');
          family = null;
        }
        families.set(sample.name, family);
      }
      try {
        family?.set(sample.labels, sample.value);
      } catch {
        // Label keys that differ from the family's first reading: prom-client refuses them.
      }
    }
  };
}
