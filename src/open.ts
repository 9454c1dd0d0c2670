/** The composition root: opens the store and the index the configuration names and wires the registry. */
import { mkdir } from 'node:fs/promises';
import { StorePaths } from './storage/paths.js';
import { FsBlobStore } from './storage/fs-blobstore.js';
import { FsUploadStore } from './storage/fs-uploads.js';
import { openIndex } from './index/open-index.js';
import type { MetadataIndex } from './index/metadata.js';
import type { MetadataConfig } from './config/config.js';
import { DEFAULT_REGISTRY_OPTIONS, Registry, type RegistryOptions } from './registry/registry.js';

export interface OpenOptions {
  root: string;
  /** fsync blobs, their directories and the index before acknowledging (default on). */
  fsync?: boolean;
  registry?: Partial<RegistryOptions>;
  /** Only the serving process cleans temp files of an earlier run. */
  serving?: boolean;
  /** metadata.driver and its settings (LevelDB under the root when absent). */
  metadata?: MetadataConfig;
}

export interface OpenRegistry {
  registry: Registry;
  blobs: FsBlobStore;
  index: MetadataIndex;
  close(): Promise<void>;
}

export async function openRegistry(opts: OpenOptions): Promise<OpenRegistry> {
  const fsync = opts.fsync ?? true;
  const paths = new StorePaths(opts.root);
  await mkdir(opts.root, { recursive: true });
  const blobs = new FsBlobStore(paths, { fsync });
  await blobs.init({ cleanTemp: opts.serving ?? true });
  const index = await openIndex(paths.indexDir, fsync, opts.metadata);
  const registry = new Registry({
    blobs,
    uploads: new FsUploadStore(blobs),
    index,
    options: { ...DEFAULT_REGISTRY_OPTIONS, ...opts.registry },
  });
  return { registry, blobs, index, close: () => index.close() };
}
