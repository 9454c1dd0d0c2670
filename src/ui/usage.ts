/**
 * Bytes per repository for the projects page: one scan of every blob link (50,000 links take ~130 ms
 * here), shared by concurrent requests and kept until a manifest or tag changes (a push, delete or
 * collection: `changes()`), or for `ttlMs` at most, since blob uploads alone do not count as changes.
 * A project's size counts each blob once, however many of its repositories link it.
 */
import type { BlobLinkIndex } from '../index/metadata.js';

export interface UsageSnapshot {
  /** repository -> its links (digest, size) */
  links: Map<string, { digest: string; size: number }[]>;
  computedAt: number;
  /** changes() when the scan started */
  version: number;
}

export class UsageCache {
  private snapshot: UsageSnapshot | undefined;
  private building: Promise<UsageSnapshot> | undefined;

  constructor(
    private readonly index: Pick<BlobLinkIndex, 'allBlobLinks'>,
    private readonly changes: () => number,
    private readonly ttlMs = 60_000,
  ) {}

  get(now = Date.now()): Promise<UsageSnapshot> {
    const s = this.snapshot;
    if (s && s.version === this.changes() && now - s.computedAt < this.ttlMs) return Promise.resolve(s);
    this.building ??= this.build().finally(() => (this.building = undefined));
    return this.building;
  }

  private async build(): Promise<UsageSnapshot> {
    const version = this.changes();
    const links = new Map<string, { digest: string; size: number }[]>();
    for await (const l of this.index.allBlobLinks()) {
      let list = links.get(l.repo);
      if (!list) links.set(l.repo, (list = []));
      list.push({ digest: l.digest, size: l.size });
    }
    this.snapshot = { links, computedAt: Date.now(), version };
    return this.snapshot;
  }
}
