/**
 * What storage holds: blobs and their bytes (a walk of the blob store) and repositories (a scan of the
 * catalog). The walk costs time on a big store, so a result is kept for `ttlMs` and concurrent askers
 * share one walk; /metrics and the web UI's storage page both read it.
 */
import type { BlobSweeper } from '../storage/blobstore.js';
import type { RepositoryIndex } from '../index/metadata.js';
import { allRepositories } from '../index/repositories.js';
import { CachedValue } from './cached-value.js';

export interface StorageStats {
  blobs: number;
  bytes: number;
  repositories: number;
  /** When the walk finished (ms since the epoch). */
  computedAt: number;
}

async function walk(blobs: Pick<BlobSweeper, 'list'>, index: RepositoryIndex): Promise<StorageStats> {
  const s = { blobs: 0, bytes: 0, repositories: 0, computedAt: 0 };
  for await (const b of blobs.list()) {
    s.blobs++;
    s.bytes += b.size;
  }
  for await (const _ of allRepositories(index)) s.repositories++;
  s.computedAt = Date.now();
  return s;
}

export class StorageStatsCache {
  private readonly cache: CachedValue<StorageStats>;

  constructor(blobs: Pick<BlobSweeper, 'list'>, index: RepositoryIndex, ttlMs = 60_000) {
    this.cache = new CachedValue(
      () => walk(blobs, index),
      (s) => Date.now() - s.computedAt < ttlMs,
    );
  }

  get = (): Promise<StorageStats> => this.cache.get();
}
