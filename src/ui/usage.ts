/**
 * Bytes per repository for the projects page: one scan of every blob link, kept for a few seconds
 * (a scan of 50,000 links takes ~130 ms here), and shared by concurrent requests. A project's size
 * counts each blob once, however many of its repositories link it.
 */
import type { BlobLinkIndex } from '../index/metadata.js';

export interface UsageSnapshot {
  /** repository -> its links (digest, size) */
  links: Map<string, { digest: string; size: number }[]>;
  computedAt: number;
}

export class UsageCache {
  private snapshot: UsageSnapshot | undefined;
  private building: Promise<UsageSnapshot> | undefined;

  constructor(
    private readonly index: Pick<BlobLinkIndex, 'allBlobLinks'>,
    private readonly ttlMs = 5_000,
  ) {}

  get(now = Date.now()): Promise<UsageSnapshot> {
    if (this.snapshot && now - this.snapshot.computedAt < this.ttlMs) return Promise.resolve(this.snapshot);
    this.building ??= this.build().finally(() => (this.building = undefined));
    return this.building;
  }

  private async build(): Promise<UsageSnapshot> {
    const links = new Map<string, { digest: string; size: number }[]>();
    for await (const l of this.index.allBlobLinks()) {
      let list = links.get(l.repo);
      if (!list) links.set(l.repo, (list = []));
      list.push({ digest: l.digest, size: l.size });
    }
    this.snapshot = { links, computedAt: Date.now() };
    return this.snapshot;
  }
}
