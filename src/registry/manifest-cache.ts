/**
 * Hot manifests in memory: tag -> digest and (repo, digest) -> record and bytes, so a pull's
 * HEAD/GET by tag costs no index read. When this process is the index's only writer, every change
 * passes through ManifestService, which invalidates here. When other processes write it too, each
 * entry also carries its repository's change stamp (stamps.ts) from before it was read, and is
 * served only while the stamp read for the request is the same. A read that raced a change must not
 * refill the cache with what it read before the change: fills carry the cache's version from
 * before the read and are dropped if any change happened since (one counter, not one per
 * repository: it costs no memory per repository, and only a fill that raced a write is lost).
 *
 * Eviction is CLOCK (second chance), not strict LRU: a hit only marks its entry, so a read never
 * reorders the map (a hot manifest is read tens of thousands of times a second); eviction gives a
 * marked entry one more round. The budget counts each entry's bytes plus ENTRY_OVERHEAD, what its
 * record, key and map slot take beside them (manifests are small: without it, a budget of bytes
 * would hold several times its size).
 */
import type { ManifestRecord } from '../index/metadata.js';
import type { Stamp } from './stamps.js';

export interface CachedManifest {
  record: ManifestRecord;
  bytes: Buffer;
}

const SEP = '\u0000';
/** Heap bytes of an entry beside its manifest bytes: the record's strings and object, the key, the Buffer and map slot (an estimate). */
export const ENTRY_OVERHEAD = 1024;

interface Slot {
  entry: CachedManifest;
  cost: number;
  used: boolean;
  stamp?: string;
}

/**
 * `stamp`: undefined where this process is the only writer (nothing to check); a stamp, which the
 * entry must carry; null where the index cannot answer now (what is held is served).
 */
const current = (held: string | undefined, stamp: Stamp | undefined) => stamp == null || held === stamp;

export class ManifestCache {
  private readonly tags = new Map<string, string>();
  private readonly manifests = new Map<string, Slot>();
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

  /** A stamped tag entry is held as `<stamp> SEP <digest>`: one string, no object per entry. */
  tag(repo: string, tag: string, stamp?: Stamp): string | undefined {
    const held = this.tags.get(repo + SEP + tag);
    if (held === undefined || stamp === undefined) return held;
    const at = held.indexOf(SEP);
    return at >= 0 && current(held.slice(0, at), stamp) ? held.slice(at + 1) : undefined;
  }

  manifest(repo: string, digest: string, stamp?: Stamp): CachedManifest | undefined {
    const slot = this.manifests.get(repo + SEP + digest);
    if (!slot || (stamp !== undefined && !current(slot.stamp, stamp))) return undefined;
    slot.used = true;
    return slot.entry;
  }

  /** `stamp`: the repository's stamp read before the tag was (a null one fills nothing). */
  fillTag(repo: string, tag: string, digest: string, seen: number, stamp?: Stamp): void {
    if (seen !== this.generation || stamp === null) return;
    const key = repo + SEP + tag;
    this.tags.delete(key);
    this.tags.set(key, stamp === undefined ? digest : stamp + SEP + digest);
    while (this.tags.size > this.maxTags) this.tags.delete(this.tags.keys().next().value!);
  }

  fillManifest(repo: string, entry: CachedManifest, seen: number, stamp?: Stamp): void {
    const cost = entry.bytes.length + ENTRY_OVERHEAD;
    if (seen !== this.generation || stamp === null || cost > this.maxBytes / 8) return;
    const key = repo + SEP + entry.record.digest;
    this.dropManifest(key);
    this.manifests.set(key, stamp === undefined ? { entry, cost, used: false } : { entry, cost, used: false, stamp });
    this.bytes += cost;
    while (this.bytes > this.maxBytes) {
      const [oldest, slot] = this.manifests.entries().next().value!;
      if (slot.used) {
        // second chance: to the back of the queue, unmarked
        slot.used = false;
        this.manifests.delete(oldest);
        this.manifests.set(oldest, slot);
      } else this.dropManifest(oldest);
    }
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
    this.bytes -= old.cost;
  }
}
