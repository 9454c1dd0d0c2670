/** The composition root: opens the store and the index the configuration names and wires the registry. */
import { mkdir } from 'node:fs/promises';
import { StorePaths } from './storage/paths.js';
import { openStores } from './storage/open-store.js';
import type { BlobStore } from './storage/blobstore.js';
import { openIndex } from './index/open-index.js';
import type { MetadataIndex } from './index/metadata.js';
import type { BerthConfig, MetadataConfig } from './config/config.js';
import { eventRouter, eventsEnabled, routesPulls, type EventsConfig } from './events/sinks.js';
import { DEFAULT_REGISTRY_OPTIONS, Registry, type RegistryOptions } from './registry/registry.js';

export interface OpenOptions {
  root: string;
  /** fsync blobs, their directories and the index before acknowledging (default on). */
  fsync?: boolean;
  registry?: Partial<RegistryOptions>;
  /** Only the serving process cleans temp files of an earlier run. */
  serving?: boolean;
  /** storage.driver and its settings (files under the root when absent). */
  storage?: Pick<BerthConfig['storage'], 'driver' | 's3'>;
  /** metadata.driver and its settings (LevelDB under the root when absent). */
  metadata?: MetadataConfig;
  /** With sinks, every change is recorded for them with the change itself (events/). */
  events?: EventsConfig;
}

export interface OpenRegistry {
  registry: Registry;
  blobs: BlobStore;
  index: MetadataIndex;
  close(): Promise<void>;
}

export async function openRegistry(opts: OpenOptions): Promise<OpenRegistry> {
  const fsync = opts.fsync ?? true;
  const paths = new StorePaths(opts.root);
  await mkdir(opts.root, { recursive: true });
  const stores = await openStores(paths, fsync, opts.storage, opts.serving ?? true);
  const sinks = eventsEnabled(opts.events) ? opts.events.sinks : undefined;
  const index = await openIndex(paths.indexDir, fsync, opts.metadata, sinks && eventRouter(sinks)).catch((err: unknown) => {
    stores.close();
    throw err;
  });
  // an index other processes share brings the locks and leases they agree through
  const coordination = index.shared?.coordination();
  const registry = new Registry({
    blobs: stores.blobs,
    uploads: stores.uploads,
    index,
    options: { ...DEFAULT_REGISTRY_OPTIONS, ...opts.registry, events: sinks !== undefined, pullEvents: sinks !== undefined && routesPulls(sinks) },
    ...(coordination ? { coordination } : {}),
  });
  return {
    registry,
    blobs: stores.blobs,
    index,
    close: async () => {
      await index.close();
      stores.close();
    },
  };
}
