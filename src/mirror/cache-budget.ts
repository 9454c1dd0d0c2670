/**
 * A disk budget for mirrored content (mirror.cache). Mirrored images are those the pull-through mirror
 * stored (their records say `mirrored`); pushed and imported images never are, so they are never
 * evicted and do not count. When the blobs mirrored images link exceed `maxBytes` (bytes, or a share
 * of the volume), or the volume's free space falls under `lowWater`, the least recently pulled
 * mirrored images go first (the last pull of any of their manifests, else when they were stored),
 * until it fits, except images matching `pin` and images pulled within `minAge`.
 *
 * Evicting an image: under its repository's lock, its manifests (the top one, and children no other
 * manifest there names) and their tags go, then the repository's links to blobs no remaining manifest
 * names; then, alone under the sweep lock that linking takes shared, each such blob no repository
 * links any more is deleted. A pull racing this gets the whole image (bytes already open are read to
 * their end) or a miss that the mirror fills again from the upstream.
 */
import { statfs } from 'node:fs/promises';
import { globToRegExp } from '../auth/policy.js';
import { parseDigest } from '../oci/digest.js';
import type { MetadataIndex, ManifestRecord } from '../index/metadata.js';
import { allRepositories } from '../index/repositories.js';
import type { Registry } from '../registry/registry.js';
import type { BlobStore } from '../storage/blobstore.js';

export interface CacheBudgetOptions {
  /** Mirrored blobs may hold at most this many bytes... */
  maxBytes?: number;
  /** ...or this share of the volume's size (0-100). */
  maxPercent?: number;
  /** Evict while the volume has less free than this share (0-100), before pushes fail for space. */
  lowWaterPercent?: number;
  /** Images pulled (or stored) within this long are never evicted. */
  minAgeMs: number;
  /** `<host>/<path>[:tag]` globs (the upstream's names, without mirror.prefix): never evicted. */
  pin: string[];
  /** Where the volume is (the data root), for the percentages. */
  volume: string;
}

interface Image {
  repo: string;
  top: string;
  /** The top manifest and its children in this repository. */
  manifests: string[];
  tags: string[];
  blobs: Set<string>;
  lastUsed: number;
}

export interface EvictionReport {
  /** Bytes of blobs mirrored images link, before and after. */
  before: number;
  after: number;
  /** The budget in bytes that applied (undefined: only the low-water mark). */
  limit?: number;
  evicted: { repository: string; digest: string; tags: string[]; lastUsed: number }[];
  blobsDeleted: number;
  bytesFreed: number;
  ms: number;
}

export class CacheBudget {
  private readonly pins: { repo: RegExp; tag?: RegExp }[];
  /** Since start, for /metrics. */
  readonly totals = { evictions: 0, bytesFreed: 0 };
  last: EvictionReport | undefined;
  /** Mirrored bytes as last measured (metrics, the web UI). */
  bytes = 0;
  private running: Promise<EvictionReport> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly index: MetadataIndex,
    private readonly store: BlobStore,
    /** Local repository -> the upstream's `<host>/<path>` (mirror names), or undefined outside the mirror. */
    private readonly upstreamName: (local: string) => string | undefined,
    readonly opts: CacheBudgetOptions,
  ) {
    this.pins = opts.pin.map((p) => {
      const colon = p.lastIndexOf(':');
      const slash = p.lastIndexOf('/');
      return colon > slash ? { repo: globToRegExp(p.slice(0, colon)), tag: globToRegExp(p.slice(colon + 1)) } : { repo: globToRegExp(p) };
    });
  }

  /** The byte limit now (a share of the volume is read from it each time). */
  async limit(): Promise<number | undefined> {
    const { maxBytes, maxPercent } = this.opts;
    if (maxPercent === undefined) return maxBytes;
    const fs = await statfs(this.opts.volume);
    const share = Math.floor((fs.blocks * fs.bsize * maxPercent) / 100);
    return maxBytes === undefined ? share : Math.min(maxBytes, share);
  }

  /** Whether the volume is under its low-water mark (pushes are about to fail for space). */
  async low(): Promise<{ low: boolean; free: number; want: number }> {
    if (this.opts.lowWaterPercent === undefined) return { low: false, free: 0, want: 0 };
    const fs = await statfs(this.opts.volume);
    const free = fs.bavail * fs.bsize;
    const want = Math.ceil((fs.blocks * fs.bsize * this.opts.lowWaterPercent) / 100);
    return { low: free < want, free, want };
  }

  /**
   * Before a push writes: when the volume is under its low-water mark, mirrored images are evicted
   * first, so the push is not refused for space while the mirror holds evictable bytes. One statfs(2)
   * per push (microseconds); not cached, since the pushes themselves are what use the space up.
   */
  async makeRoom(): Promise<void> {
    if (this.opts.lowWaterPercent !== undefined && (await this.low()).low) await this.enforce();
  }

  /** One run at a time; a caller during a run gets its result. */
  enforce(now = Date.now()): Promise<EvictionReport> {
    this.running ??= this.run(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private pinned(img: Image): boolean {
    const name = this.upstreamName(img.repo);
    if (name === undefined) return true;
    return this.pins.some((p) => p.repo.test(name) && (!p.tag || img.tags.some((t) => p.tag!.test(t))));
  }

  /** Every mirrored image, and the bytes of the blobs they link (each blob once). */
  private async images(): Promise<{ images: Image[]; sizes: Map<string, number> }> {
    const images: Image[] = [];
    const sizes = new Map<string, number>();
    for await (const repo of allRepositories(this.index)) {
      if (this.upstreamName(repo) === undefined) continue;
      const records = await this.index.listManifests(repo);
      if (!records.some((r) => r.mirrored)) continue;
      const byDigest = new Map(records.map((r) => [r.digest, r]));
      const children = new Set(records.flatMap((r) => r.manifests));
      const links = new Map((await this.index.listBlobLinks(repo)).map((l) => [l.digest, l.size]));
      for (const top of records) {
        if (!top.mirrored || children.has(top.digest)) continue;
        const img: Image = { repo, top: top.digest, manifests: [], tags: await this.index.tagsOf(repo, top.digest), blobs: new Set(), lastUsed: 0 };
        const visit = async (r: ManifestRecord) => {
          if (img.manifests.includes(r.digest)) return;
          img.manifests.push(r.digest);
          img.lastUsed = Math.max(img.lastUsed, (await this.registry.manifests.lastPulled(repo, r.digest)) ?? r.pushedAt);
          for (const b of r.blobs) {
            const size = links.get(b);
            if (size === undefined) continue; // not fetched yet: nothing stored to count or free
            img.blobs.add(b);
            sizes.set(b, size);
          }
          for (const c of r.manifests) {
            const child = byDigest.get(c);
            if (child) await visit(child);
          }
        };
        await visit(top);
        images.push(img);
      }
    }
    return { images, sizes };
  }

  private async run(now: number): Promise<EvictionReport> {
    const started = Date.now();
    const limit = await this.limit();
    const { images, sizes } = await this.images();
    let total = [...sizes.values()].reduce((a, n) => a + n, 0);
    const report: EvictionReport = { before: total, after: total, evicted: [], blobsDeleted: 0, bytesFreed: 0, ms: 0 };
    if (limit !== undefined) report.limit = limit;
    const candidates = images.filter((i) => now - i.lastUsed >= this.opts.minAgeMs && !this.pinned(i)).sort((a, b) => a.lastUsed - b.lastUsed);
    // how many images hold each blob: a blob counts as freed by the last image that held it
    const holders = new Map<string, number>();
    for (const i of images) for (const b of i.blobs) holders.set(b, (holders.get(b) ?? 0) + 1);
    for (const img of candidates) {
      const over = limit !== undefined && total > limit;
      if (!over && !(await this.low()).low) break;
      const freed = await this.evict(img, started);
      report.evicted.push({ repository: img.repo, digest: img.top, tags: img.tags, lastUsed: img.lastUsed });
      report.blobsDeleted += freed.blobs;
      report.bytesFreed += freed.bytes;
      for (const b of img.blobs) {
        const left = (holders.get(b) ?? 1) - 1;
        holders.set(b, left);
        if (left === 0) total -= sizes.get(b) ?? 0;
      }
    }
    report.after = total;
    this.bytes = total;
    this.totals.evictions += report.evicted.length;
    this.totals.bytesFreed += report.bytesFreed;
    report.ms = Date.now() - started;
    this.last = report;
    return report;
  }

  /** `since`: a blob stored or touched after this (a fill racing the eviction) is kept. */
  private async evict(img: Image, since: number): Promise<{ blobs: number; bytes: number }> {
    const { manifests, coordination } = this.registry;
    const unlinked: string[] = [];
    await coordination.repoLocks.run(img.repo, async () => {
      const records = await this.index.listManifests(img.repo);
      const gone = new Set(img.manifests);
      // a child another remaining manifest also names stays
      for (const r of records) if (!gone.has(r.digest)) for (const c of r.manifests) gone.delete(c);
      for (const d of gone) await manifests.collect(img.repo, d);
      const used = new Set<string>();
      for (const r of records) if (!gone.has(r.digest)) for (const b of r.blobs) used.add(b);
      for (const b of img.blobs) {
        if (used.has(b)) continue;
        if (await this.index.unlinkBlob(img.repo, b)) unlinked.push(b);
      }
    });
    let blobs = 0;
    let bytes = 0;
    for (const b of unlinked) {
      await coordination.sweep.alone(async () => {
        if ((await this.index.reposWithBlob(b, 1)).length > 0) return;
        const d = parseDigest(b);
        if (((await this.store.touchedAt(d)) ?? 0) >= since) return;
        const s = await this.store.stat(d);
        if (!s) return;
        await this.store.delete(d);
        blobs++;
        bytes += s.size;
      });
    }
    return { blobs, bytes };
  }
}
