import { DeepstreamError } from './errors.ts';
import type { PluginManifest } from './plugins/manifest.ts';
import type { ClusterBus } from './cluster/bus.ts';
import type { ClusterTransportService } from './cluster/node.ts';
import type { RecordCache, RecordStorage, StoredRecord } from './connectors/records.ts';
import type { ListeningService, SubscriptionObserver } from './util/subscriptions.ts';
import type { Inspection } from './util/inspection.ts';

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
  /** Records as stored now, for plugins that judge by records they do not own (permission rules' `_()`); provided by the records plugin. */
  recordReader: RecordReader;
  /** Who subscribes to which events, told as it changes; provided by the events plugin (presence rooms follow it). */
  eventSubscriptions: SubscriptionFeed;
  /** Active providers for event and record names, provided by `@deepstream-ts/plugin-listening`. */
  listening: ListeningService;
  /** Live state features register and monitors read (metrics, console); the kernel provides it. */
  inspection: Inspection;
}

/** Reads a record as stored now; `undefined` when it does not exist. Rejects when it cannot be loaded. */
export interface RecordReader {
  snapshot(name: string): Promise<StoredRecord | undefined>;
}

/** A topic owner's subscriptions, for plugins that follow them: observers hear of every subscription that starts or ends. */
export interface SubscriptionFeed {
  observe(observer: SubscriptionObserver): void;
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

  /** The services the kernel itself provides: plugins use them without declaring a need. */
  kernelServices(): Set<string> {
    return new Set([...this.services].filter(([, entry]) => entry.owner === KERNEL).map(([name]) => name));
  }

  /**
   * One plugin's view of the directory: only what its manifest declares, so that the order the
   * loader derived from `provides` and `needs` is the order services really appear in.
   */
  accessFor(manifest: PluginManifest<object>, kernelServices: ReadonlySet<string>): ServiceAccess {
    const plugin = manifest.name;
    const declaredNeed = (name: string) => kernelServices.has(name) || (manifest.needs !== undefined && name in manifest.needs);
    const undeclared = (name: string, what: string) =>
      new DeepstreamError(
        'DS_SERVICE_UNDECLARED',
        `plugin "${plugin}" ${what} service "${name}" without declaring it: add it to the manifest's ${what === 'provides' ? '"provides"' : '"needs"'} (providers are then set up first, so ctx.use works in setup)`,
      );
    return {
      provide: (name, impl) => {
        if (!(manifest.provides ?? []).includes(name)) throw undeclared(name, 'provides');
        this.provide(name, impl, plugin);
      },
      use: (name) => {
        if (!declaredNeed(name)) throw undeclared(name, 'uses');
        return this.use(name, plugin);
      },
      find: (name) => {
        if (!declaredNeed(name)) throw undeclared(name, 'looks for');
        return this.find(name);
      },
    };
  }

  /** After a plugin's setup: every service it declared must be there. */
  assertProvided(manifest: PluginManifest<object>): void {
    for (const name of manifest.provides ?? []) {
      if (this.services.get(name)?.owner !== manifest.name) {
        throw new DeepstreamError('DS_SERVICE_MISSING', `plugin "${manifest.name}" declares it provides service "${name}" but did not provide it during setup`);
      }
    }
  }
}

export interface ServiceAccess {
  provide<K extends keyof Services>(name: K, impl: Services[K]): void;
  use<K extends keyof Services>(name: K): Services[K];
  find<K extends keyof Services>(name: K): Services[K] | undefined;
}
