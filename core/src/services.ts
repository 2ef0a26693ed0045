import { DeepstreamError } from './errors.ts';
import type { ClusterBus } from './cluster/bus.ts';
import type { ClusterTransportService } from './cluster/node.ts';
import type { RecordCache, RecordStorage } from './connectors/records.ts';
import type { ListeningService } from './util/subscriptions.ts';

/**
 * The typed service directory. A plugin that provides a service adds its type here through
 * declaration merging, so that `ctx.use('name')` is typed for everyone:
 *
 *   declare module '@deepstream-ts/core' {
 *     interface Services { storage: StorageConnector }
 *   }
 */
export interface Services {
  /** Carries messages to the other nodes of a cluster; the default has no other nodes. */
  cluster: ClusterBus;
  /** Provided by a cluster connector (e.g. `@deepstream-ts/cluster-redis`): bytes between nodes. */
  clusterTransport: ClusterTransportService;
  /** Durable record storage, provided by a storage connector (e.g. `@deepstream-ts/storage-sqlite`). */
  storage: RecordStorage;
  /** The record cache in front of storage, provided by a cache connector. */
  cache: RecordCache;
  /** Active providers for event and record names, provided by `@deepstream-ts/plugin-listening`. */
  listening: ListeningService;
}

/** The owner name of services the kernel registers as defaults. */
export const KERNEL = 'kernel';

export class ServiceRegistry {
  private readonly services = new Map<string, { owner: string; impl: unknown }>();

  /** Kernel defaults (owner `kernel`) may be replaced once by a plugin; anything else only once. */
  provide<K extends keyof Services>(name: K, impl: Services[K], owner: string): void {
    const existing = this.services.get(name);
    if (existing !== undefined && existing.owner !== KERNEL) {
      throw new DeepstreamError(
        'DS_SERVICE_ALREADY_PROVIDED',
        `plugin "${owner}" provides service "${name}", which "${existing.owner}" already provides`,
      );
    }
    this.services.set(name, { owner, impl });
  }

  use<K extends keyof Services>(name: K, user: string): Services[K] {
    const entry = this.services.get(name);
    if (entry === undefined) {
      throw new DeepstreamError('DS_SERVICE_MISSING', `plugin "${user}" uses service "${name}", which no configured plugin provides`);
    }
    return entry.impl as Services[K];
  }

  /** Like `use`, but `undefined` when nobody provides it (for optional services). */
  find<K extends keyof Services>(name: K): Services[K] | undefined {
    return this.services.get(name)?.impl as Services[K] | undefined;
  }
}
