/**
 * Bytes per repository for the projects page: one scan of every blob link (50,000 links take ~130 ms
 * here), shared by concurrent requests and kept until a manifest or tag changes (a push, delete or
 * collection: `changes()`), or for `ttlMs` at most, since blob uploads alone do not count as changes.
 * A project's size counts each blob once, however many of its repositories link it.
 */
import type { BlobLinkIndex } from '../index/metadata.js';
import { CachedValue } from '../registry/cached-value.js';

export interface UsageSnapshot {
  /** repository -> its links (digest, size) */
  links: Map<string, { digest: string; size: number }[]>;
  computedAt: number;
  /** changes() when the scan started */
  version: number;
}

export class UsageCache {
  private readonly cache: CachedValue<UsageSnapshot>;

  constructor(
    private readonly index: Pick<BlobLinkIndex, 'allBlobLinks'>,
    private readonly changes: () => number,
    ttlMs = 60_000,
  ) {
    this.cache = new CachedValue(
      () => this.scan(),
      (s) => s.version === this.changes() && Date.now() - s.computedAt < ttlMs,
    );
  }

  get = (): Promise<UsageSnapshot> => this.cache.get();

  private async scan(): Promise<UsageSnapshot> {
    const version = this.changes();
    const links = new Map<string, { digest: string; size: number }[]>();
    for await (const l of this.index.allBlobLinks()) {
      let list = links.get(l.repo);
      if (!list) links.set(l.repo, (list = []));
      list.push({ digest: l.digest, size: l.size });
    }
    return { links, computedAt: Date.now(), version };
  }
}
