/**
 * Hot manifests in memory: tag -> digest and (repo, digest) -> record and bytes, so a pull's
 * HEAD/GET by tag costs no index read. This process is the index's only writer, so every change
 * passes through ManifestService, which invalidates here. A read that raced a change must not
 * refill the cache with what it read before the change: fills carry the cache's version from
 * before the read and are dropped if any change happened since (one counter, not one per
 * repository: it costs no memory per repository, and only a fill that raced a write is lost).
 */
import type { ManifestRecord } from '../index/metadata.js';

export interface CachedManifest {
  record: ManifestRecord;
  bytes: Buffer;
}

const SEP = '\u0000';

export class ManifestCache {
  private readonly tags = new Map<string, string>();
  private readonly manifests = new Map<string, CachedManifest>();
  private generation = 0;
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxTags: number,
  ) {}

  version(): number {
    return this.generation;
  }

  /** Called around every change to manifests or tags. */
  bump(): void {
    this.generation++;
  }

  tag(repo: string, tag: string): string | undefined {
    return this.tags.get(repo + SEP + tag);
  }

  manifest(repo: string, digest: string): CachedManifest | undefined {
    const key = repo + SEP + digest;
    const hit = this.manifests.get(key);
    if (hit) {
      // refresh its place in the LRU order
      this.manifests.delete(key);
      this.manifests.set(key, hit);
    }
    return hit;
  }

  fillTag(repo: string, tag: string, digest: string, seen: number): void {
    if (seen !== this.generation) return;
    const key = repo + SEP + tag;
    this.tags.delete(key);
    this.tags.set(key, digest);
    while (this.tags.size > this.maxTags) this.tags.delete(this.tags.keys().next().value!);
  }

  fillManifest(repo: string, entry: CachedManifest, seen: number): void {
    if (seen !== this.generation || entry.bytes.length > this.maxBytes / 8) return;
    const key = repo + SEP + entry.record.digest;
    this.dropManifest(key);
    this.manifests.set(key, entry);
    this.bytes += entry.bytes.length;
    while (this.bytes > this.maxBytes) this.dropManifest(this.manifests.keys().next().value!);
  }

  forgetTag(repo: string, tag: string): void {
    this.tags.delete(repo + SEP + tag);
  }

  forgetManifest(repo: string, digest: string, tags: string[]): void {
    this.dropManifest(repo + SEP + digest);
    for (const t of tags) this.forgetTag(repo, t);
  }

  private dropManifest(key: string): void {
    const old = this.manifests.get(key);
    if (!old) return;
    this.manifests.delete(key);
    this.bytes -= old.bytes.length;
  }
}
