/**
 * Pulling, pushing and deleting manifests (distribution-spec v1.1 "Pulling manifests", "Pushing
 * Manifests", "Deleting tags", "Deleting Manifests"). Manifest bytes live in the blob store under
 * their digest and are served back byte for byte with the media type they were pushed with.
 */
import { RegistryError } from '../oci/errors.js';
import { keptChildren, platformName, type Platform } from '../oci/platforms.js';
import { digestBytes, looksLikeDigest, parseDigest, type Digest } from '../oci/digest.js';
import { isValidTag } from '../oci/names.js';
import { ImmutableTags } from './immutable-tags.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import type { ManifestRecord, MetadataIndex } from '../index/metadata.js';
import type { KeyedLock, SweepGate } from './coordination.js';
import type { RegistryOptions } from './registry.js';
import { ManifestCache, type CachedManifest } from './manifest-cache.js';
import type { Stamp, StampReader } from './stamps.js';

export type Reference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

/** Parses `<reference>`: a digest (DIGEST_INVALID when malformed) or a tag (undefined when invalid). */
export function parseReference(ref: string): Reference | undefined {
  if (looksLikeDigest(ref)) return { kind: 'digest', digest: parseDigest(ref) };
  return isValidTag(ref) ? { kind: 'tag', tag: ref } : undefined;
}

export class ManifestService {
  private readonly cache: ManifestCache;
  /** Manifest and tag reads answered from memory, and those that went to the index. */
  readonly counters = { cacheHits: 0, cacheMisses: 0 };
  /** Pulls since the last flush: (repo \0 digest) -> time. Kept in memory so a pull costs no write. */
  private pulls = new Map<string, number>();

  constructor(
    private readonly index: MetadataIndex,
    private readonly options: RegistryOptions,
    private readonly locks: KeyedLock,
    private readonly sweep: SweepGate,
    /** Present when other processes write the index too: every cache hit is checked against it. */
    private readonly stamps?: StampReader,
  ) {
    // ~200 bytes a tag entry: 16,384 hot tags cost about 3 MiB.
    this.cache = new ManifestCache(options.manifestCacheBytes, 16_384);
    this.immutable = new ImmutableTags(options.immutableTags ?? []);
  }

  /** storage.immutableTags: retention asks before it deletes a tag. */
  readonly immutable: ImmutableTags;

  private async unknown(repo: string, ref: string): Promise<RegistryError> {
    if (!(await this.index.repositoryExists(repo))) return new RegistryError('NAME_UNKNOWN', `repository unknown: ${repo}`);
    return new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${ref.slice(0, 140)}`);
  }

  /** Grows with every manifest or tag change (push, delete, collection): lets readers of summaries tell they are stale. */
  changes(): number {
    return this.cache.version();
  }

  /** The repository's change stamp when other processes write the index (undefined when none do). */
  stampOf(repo: string): Promise<Stamp> | undefined {
    return this.stamps?.of(repo);
  }

  async hasTag(repo: string, tag: string): Promise<boolean> {
    return (!this.stamps && this.cache.tag(repo, tag) !== undefined) || (await this.index.tag(repo, tag)) !== undefined;
  }

  /**
   * Notes a pull (GET or HEAD) for retention's `pulledWithin`; a GET (`get`) is also a
   * manifest.pulled event when a sink asked for those (a HEAD only asks whether it changed).
   */
  notePull(repo: string, digest: string, get: boolean): void {
    const at = Date.now();
    if (this.pulls.size < 100_000) this.pulls.set(`${repo}\u0000${digest}`, at);
    if (get && this.options.pullEvents) {
      // the pull is answered whether or not its event is recorded: an index that fails shows on the writes
      this.index.appendEvent({ type: 'manifest.pulled', repo, at, data: { digest } }).catch(() => undefined);
    }
  }

  async lastPulled(repo: string, digest: string): Promise<number | undefined> {
    return this.pulls.get(`${repo}\u0000${digest}`) ?? (await this.index.pulledAt(repo, digest));
  }

  /** Writes the pulls noted since the last flush (a timer does, and shutdown). */
  async flushPulls(): Promise<void> {
    const batch = this.pulls;
    this.pulls = new Map();
    await this.index.recordPulls([...batch].map(([k, at]) => ({ repo: k.slice(0, k.indexOf('\u0000')), digest: k.slice(k.indexOf('\u0000') + 1), at })));
  }

  /**
   * The manifest a reference names when memory holds both its tag and its bytes; undefined
   * otherwise (get() then reads the index). Only validated names, tags and digests are ever cached,
   * so a reference that is not valid finds nothing here. Tags never contain ':', digests always do.
   * Always undefined when other processes write the index: a hit must then be checked (get()).
   */
  cached(repo: string, ref: string): CachedManifest | undefined {
    if (this.stamps) return undefined;
    const digest = ref.includes(':') ? ref : this.cache.tag(repo, ref);
    const hit = digest === undefined ? undefined : this.cache.manifest(repo, digest);
    if (hit) this.counters.cacheHits++; // a miss goes on to get(), which counts it
    return hit;
  }

  /** Stamp checks (one per read of a cached manifest) and the index reads that answered them, when shared. */
  stampCounts(): { checks: number; reads: number } | undefined {
    return this.stamps?.counts;
  }

  /** The manifest a reference names, with its bytes: from memory when hot, else from the index. */
  async get(repo: string, ref: string): Promise<CachedManifest> {
    const r = parseReference(ref);
    if (!r) throw await this.unknown(repo, ref); // an invalid tag can name nothing
    // read before anything else: what is filled below carries it (stamps.ts)
    const stamp = this.stamps ? await this.stamps.of(repo) : undefined;
    const seen = this.cache.version();
    const known = r.kind === 'digest' ? r.digest.value : this.cache.tag(repo, r.tag, stamp);
    const hit = known === undefined ? undefined : this.cache.manifest(repo, known, stamp);
    if (hit) {
      this.counters.cacheHits++;
      return hit;
    }
    this.counters.cacheMisses++;
    // one index read for the tag, the record and the bytes (one round trip on PostgreSQL); only a
    // tag is ever unknown here, and a valid tag reference is the tag itself
    const found = await this.index.resolveManifest(repo, known === undefined ? { tag: ref } : { digest: known });
    if (!found) throw await this.unknown(repo, ref);
    if (known === undefined) {
      this.cache.fillTag(repo, ref, found.digest, seen, stamp);
      const filled = this.cache.manifest(repo, found.digest, stamp);
      if (filled) return filled;
    }
    const { record, bytes } = found;
    if (!record) throw await this.unknown(repo, ref);
    if (!bytes) throw new RegistryError('MANIFEST_UNKNOWN', `manifest content missing: ${record.digest}`);
    const entry = { record, bytes };
    this.cache.fillManifest(repo, entry, seen, stamp);
    return entry;
  }

  /** Like get(), but undefined where get() answers NAME_UNKNOWN or MANIFEST_UNKNOWN. */
  async find(repo: string, ref: string): Promise<CachedManifest | undefined> {
    try {
      return await this.get(repo, ref);
    } catch (err) {
      if (err instanceof RegistryError && (err.code === 'NAME_UNKNOWN' || err.code === 'MANIFEST_UNKNOWN')) return undefined;
      throw err;
    }
  }

  /**
   * `mirrored`: the manifest comes from an upstream (pull-through), whose blobs and children arrive
   * later, on demand; its references are not required to be present yet. `platforms`: an index is
   * kept with the children of these platforms only (oci/platforms.ts), the others may be absent; the
   * record says so.
   */
  async put(repo: string, ref: string, contentType: string | undefined, bytes: Buffer, opts: { mirrored?: boolean; tags?: string[]; platforms?: readonly Platform[] } = {}): Promise<ManifestRecord> {
    const r = parseReference(ref);
    if (!r) throw new RegistryError('MANIFEST_INVALID', `invalid tag: ${ref.slice(0, 140)}`);
    for (const t of opts.tags ?? []) if (!isValidTag(t)) throw new RegistryError('MANIFEST_INVALID', `invalid tag: ${t.slice(0, 140)}`);
    if (bytes.length > this.options.maxManifestBytes) throw this.tooLarge();
    const digest = digestBytes(bytes, r.kind === 'digest' ? r.digest.algorithm : 'sha256');
    if (r.kind === 'digest' && r.digest.value !== digest.value) {
      throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest.value} does not match ${r.digest.value}`);
    }
    const parsed = parseManifest(bytes, contentType);
    // the digest is the one pushed by (sha512 too): tags point at this record, whichever way it was named
    const tags = [...new Set([...(r.kind === 'tag' ? [r.tag] : []), ...(opts.tags ?? [])])];
    return this.locks.run(repo, async () => {
      if (!opts.mirrored && this.immutable.any) {
        for (const t of tags) {
          if (!this.immutable.protects(repo, t)) continue;
          const current = await this.index.tag(repo, t);
          if (current !== undefined && current !== digest.value) throw this.immutable.moved(repo, t, current);
        }
      }
      for (const b of opts.mirrored ? [] : parsed.blobs) {
        if (!(await this.index.blobLink(repo, b))) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob unknown to repository: ${b}`, { detail: { digest: b } });
        }
      }
      const sparse = opts.platforms && parsed.children ? keptChildren(parsed.children, opts.platforms) : undefined;
      for (const m of opts.mirrored ? [] : parsed.manifests.filter((d) => !sparse || sparse.has(d))) {
        if (!(await this.index.manifest(repo, m))) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest unknown to repository: ${m}`, { detail: { digest: m } });
        }
      }
      const record: ManifestRecord = {
        digest: digest.value,
        mediaType: parsed.mediaType,
        size: bytes.length,
        blobs: parsed.blobs,
        manifests: parsed.manifests,
        pushedAt: Date.now(),
      };
      if (parsed.subject) record.subject = parsed.subject.digest;
      if (parsed.artifactType !== undefined) record.artifactType = parsed.artifactType;
      if (parsed.annotations) record.annotations = parsed.annotations;
      if (sparse) record.platforms = opts.platforms!.map(platformName);
      if (opts.mirrored) record.mirrored = true;
      this.cache.bump();
      try {
        // shared with garbage collection's sweep of unreferenced manifest bytes (they are written together)
        await this.sweep.shared(() => this.index.putManifest(repo, record, bytes, referrerDescriptor(record), tags));
      } finally {
        this.cache.bump();
        for (const t of tags) this.cache.forgetTag(repo, t);
      }
      return record;
    });
  }

  /**
   * Removes a manifest that garbage collection found unreachable. The caller holds the repository's
   * lock already; the cache forgets it like any delete.
   */
  async collect(repo: string, digest: string): Promise<void> {
    this.cache.bump();
    try {
      const tags = await this.index.deleteManifest(repo, digest);
      if (tags) this.cache.forgetManifest(repo, digest, tags);
    } finally {
      this.cache.bump();
    }
  }

  tooLarge(): RegistryError {
    return new RegistryError('SIZE_INVALID', `manifest exceeds the ${this.options.maxManifestBytes}-byte limit`, { status: 413 });
  }

  /**
   * By tag: removes that tag only. By digest: the manifest and every tag pointing at it. `force`:
   * retention deletes even where the API's deletes are off. `ifDigest` (by tag): only while the tag
   * still names that digest, checked under the repository's lock; false when it did not.
   */
  async delete(repo: string, ref: string, opts: { force?: boolean; ifDigest?: string } = {}): Promise<boolean> {
    if (!this.options.deleteEnabled && !opts.force) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
    const r = parseReference(ref);
    if (!r) throw await this.unknown(repo, ref);
    return this.locks.run(repo, async () => {
      if (opts.ifDigest !== undefined && r.kind === 'tag' && (await this.index.tag(repo, r.tag)) !== opts.ifDigest) return false;
      if (this.immutable.any) {
        const tags = r.kind === 'tag' ? [r.tag] : await this.index.tagsOf(repo, r.digest.value);
        const held = tags.filter((t) => this.immutable.protects(repo, t));
        if (held.length) throw this.immutable.deleted(repo, held);
      }
      this.cache.bump();
      try {
        if (r.kind === 'tag') {
          if (!(await this.index.deleteTag(repo, r.tag))) throw await this.unknown(repo, ref);
          this.cache.forgetTag(repo, r.tag);
        } else {
          const tags = await this.index.deleteManifest(repo, r.digest.value);
          if (!tags) throw await this.unknown(repo, ref);
          this.cache.forgetManifest(repo, r.digest.value, tags);
        }
      } finally {
        this.cache.bump();
      }
      return true;
    });
  }
}

/** The descriptor a referrers response lists for this manifest (spec: "Listing Referrers"). */
export function referrerDescriptor(record: ManifestRecord): Descriptor | undefined {
  if (!record.subject) return undefined;
  const d: Descriptor = { mediaType: record.mediaType, digest: record.digest, size: record.size };
  if (record.artifactType !== undefined) d.artifactType = record.artifactType;
  if (record.annotations) d.annotations = record.annotations;
  return d;
}
