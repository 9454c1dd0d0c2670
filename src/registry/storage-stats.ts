/**
 * What storage holds: blobs and their bytes (a walk of the blob store) and repositories (a scan of the
 * catalog). The walk costs time on a big store, so a result is kept for `ttlMs` and concurrent askers
 * share one walk; /metrics and the web UI's storage page both read it.
 */
import type { BlobSweeper } from '../storage/blobstore.js';
import type { RepositoryIndex } from '../index/metadata.js';
import { allRepositories } from '../index/repositories.js';

export interface StorageStats {
  blobs: number;
  bytes: number;
  repositories: number;
  /** When the walk finished (ms since the epoch). */
  computedAt: number;
}

export class StorageStatsCache {
  private last: StorageStats | undefined;
  private walking: Promise<StorageStats> | undefined;

  constructor(
    private readonly blobs: Pick<BlobSweeper, 'list'>,
    private readonly index: RepositoryIndex,
    private readonly ttlMs = 60_000,
  ) {}

  get = (): Promise<StorageStats> => {
    if (this.last && Date.now() - this.last.computedAt < this.ttlMs) return Promise.resolve(this.last);
    this.walking ??= this.walk().finally(() => (this.walking = undefined));
    return this.walking;
  };

  private async walk(): Promise<StorageStats> {
    const s = { blobs: 0, bytes: 0, repositories: 0, computedAt: 0 };
    for await (const b of this.blobs.list()) {
      s.blobs++;
      s.bytes += b.size;
    }
    for await (const _ of allRepositories(this.index)) s.repositories++;
    s.computedAt = Date.now();
    this.last = s;
    return s;
  }
}
