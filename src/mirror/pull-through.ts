/**
 * On-demand pull-through (issue 7): a manifest or blob missing locally is fetched from its upstream,
 * verified against its digest, stored and served. Blobs stream to clients while they are written;
 * concurrent requests share one fetch. Offline-first: a cached tag is served when the upstream cannot
 * be reached (its breaker answers at once), and is re-validated at most every `tagTTL`.
 */
import type { FastifyBaseLogger } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { digestBytes, parseDigest, tryParseDigest, type Digest } from '../oci/digest.js';
import { baseMediaType, manifestKind, MT } from '../oci/mediatypes.js';
import type { BlobFill, BlobStore, OpenBlob } from '../storage/blobstore.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { Platform } from '../oci/platforms.js';
import { parseManifest } from '../oci/manifest.js';
import type { Registry } from '../registry/registry.js';
import { parseReference } from '../registry/manifests.js';
import type { CachedManifest } from '../registry/manifest-cache.js';
import { SingleFlight } from './single-flight.js';
import { UpstreamError, type Upstream } from './upstream.js';
import type { Remote } from './names.js';

const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

export interface PullThroughOptions {
  /** How long a tag's cached digest is trusted before the upstream is asked again. */
  tagTTLms: number;
  /** mirror.sync.enable: false means no upstream is ever contacted (air-gapped). */
  online: boolean;
  /** mirror.platforms: a mirrored index's record says it holds only these platforms' children. */
  platforms?: Platform[];
}

export interface MirrorCounters {
  manifestFetches: number;
  blobFetches: number;
  tagRevalidations: number;
  servedStale: number;
  upstreamErrors: number;
}

interface Filling {
  fill: BlobFill;
  size: number | undefined;
  /** Repositories the blob is linked into once stored: one index write each, however many clients wait. */
  links: Map<string, Promise<void>>;
}

function unavailable(err: unknown, unknownCode: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN', what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  if (err instanceof UpstreamError && err.notFound) return new RegistryError(unknownCode, `${what}: not found upstream`);
  return new RegistryError('UNAVAILABLE', `${what} is not cached and its upstream failed: ${(err as Error).message}`);
}

export class PullThrough {
  private readonly manifestFlights = new SingleFlight<CachedManifest>();
  private readonly blobFlights = new SingleFlight<Filling | undefined>();
  private readonly fills = new Map<string, Filling>();
  /** (local repository \0 tag) -> when the upstream last confirmed its digest. */
  private readonly validated = new Map<string, number>();
  readonly counters: MirrorCounters = { manifestFetches: 0, blobFetches: 0, tagRevalidations: 0, servedStale: 0, upstreamErrors: 0 };

  constructor(
    private readonly registry: Registry,
    private readonly store: BlobStore,
    private readonly index: MetadataIndex,
    readonly upstreams: Map<string, Upstream>,
    private readonly opts: PullThroughOptions,
    public log?: FastifyBaseLogger,
  ) {}

  /** Blobs being fetched right now (uploads-in-progress style gauge). */
  get fetchesInProgress(): number {
    return this.fills.size;
  }

  private upstream(remote: Remote | undefined): Upstream | undefined {
    return this.opts.online && remote ? this.upstreams.get(remote.host) : undefined;
  }

  private fresh(local: string, tag: string): boolean {
    const at = this.validated.get(`${local}\u0000${tag}`);
    return at !== undefined && Date.now() - at < this.opts.tagTTLms;
  }

  private markFresh(local: string, tag: string): void {
    if (this.validated.size > 100_000) this.validated.clear();
    this.validated.set(`${local}\u0000${tag}`, Date.now());
  }

  // ---- manifests ----

  async manifest(local: string, remote: Remote | undefined, ref: string): Promise<CachedManifest> {
    const upstream = this.upstream(remote);
    const r = parseReference(ref);
    if (!upstream || !r) return this.registry.manifests.get(local, ref);
    const cached = await this.registry.manifests.find(local, ref);
    if (cached && r.kind === 'digest') return cached; // digests never need re-validation
    if (cached && (this.fresh(local, ref) || !upstream.breaker.closed)) {
      if (!upstream.breaker.closed) this.counters.servedStale++;
      return cached;
    }
    return this.manifestFlights.run(`${local}\u0000${ref}`, async () => {
      try {
        return await this.fetchManifest(upstream, local, remote!, ref, cached);
      } catch (err) {
        this.counters.upstreamErrors++;
        if (cached) {
          this.counters.servedStale++;
          this.log?.warn({ upstream: upstream.host, repository: local, tag: ref, err: (err as Error).message }, 'serving cached tag: upstream failed');
          return cached;
        }
        if (r.kind === 'digest' && !(err instanceof UpstreamError && err.notFound)) {
          const why = await this.leftOut(local, r.digest.value);
          if (why) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${r.digest.value} is not kept here: ${why}, and its upstream is unreachable`);
        }
        throw unavailable(err, 'MANIFEST_UNKNOWN', `manifest ${remote!.host}/${remote!.repo}:${ref.slice(0, 80)}`);
      }
    });
  }

  /**
   * Why a child manifest is absent on purpose: an index of the repository kept for some platforms
   * only (mirror.platforms) names it for another. Asked only when the upstream cannot fill it: the
   * client then gets a clean MANIFEST_UNKNOWN instead of a 503 that invites retries.
   */
  private async leftOut(local: string, digest: string): Promise<string | undefined> {
    for (const rec of await this.index.listManifests(local)) {
      if (!rec.platforms || !rec.manifests.includes(digest)) continue;
      const bytes = await this.index.manifestBytes(rec.digest);
      const child = bytes && parseManifest(bytes, rec.mediaType).children?.find((c) => c.digest === digest);
      const p = child?.platform as { os?: string; architecture?: string; variant?: string } | undefined;
      const name = p ? [p.os, p.architecture, p.variant].filter((x) => x).join('/') : 'a child';
      return `it is the ${name} child of index ${rec.digest}, kept for ${rec.platforms.join(', ')} only (mirror.platforms)`;
    }
    return undefined;
  }

  private async fetchManifest(upstream: Upstream, local: string, remote: Remote, ref: string, cached: CachedManifest | undefined): Promise<CachedManifest> {
    const byDigest = tryParseDigest(ref);
    if (cached) {
      // A HEAD answers with the tag's digest: the cached bytes stay valid while it agrees.
      this.counters.tagRevalidations++;
      const h = await upstream.get('HEAD', remote.repo, `manifests/${ref}`, ACCEPT);
      await h.body.dump();
      if (h.statusCode === 200 && h.headers['docker-content-digest'] === cached.record.digest) {
        this.markFresh(local, ref);
        return cached;
      }
      if (h.statusCode !== 200) throw new UpstreamError(`HEAD manifest: HTTP ${h.statusCode}`, h.statusCode);
    }
    this.counters.manifestFetches++;
    const r = await upstream.get('GET', remote.repo, `manifests/${ref}`, ACCEPT);
    if (r.statusCode !== 200) {
      await r.body.dump();
      throw new UpstreamError(`GET manifest: HTTP ${r.statusCode}`, r.statusCode);
    }
    const limit = this.registry.options.maxManifestBytes;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of r.body) {
      n += (c as Buffer).length;
      if (n > limit) {
        r.body.destroy();
        throw new UpstreamError(`manifest larger than ${limit} bytes`);
      }
      chunks.push(c as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const said = tryParseDigest(String(r.headers['docker-content-digest'] ?? ''));
    const digest = digestBytes(bytes, byDigest?.algorithm ?? said?.algorithm ?? 'sha256');
    if ((byDigest && byDigest.value !== digest.value) || (said && said.value !== digest.value)) {
      throw new UpstreamError(`upstream manifest bytes hash to ${digest.value}, not ${(byDigest ?? said)!.value}`);
    }
    const ct = baseMediaType(String(r.headers['content-type'] ?? ''));
    const record = await this.registry.manifests.put(local, ref, ct && manifestKind(ct) ? ct : undefined, bytes, { mirrored: true, ...(this.opts.platforms ? { platforms: this.opts.platforms } : {}) });
    if (!byDigest) this.markFresh(local, ref);
    return { record, bytes };
  }

  // ---- blobs ----

  /** Links a blob that is already stored into `local`, when the repository may have it. */
  private async adoptStored(local: string, d: Digest, remote: Remote | undefined, upstream: Upstream | undefined): Promise<boolean> {
    const s = await this.store.stat(d);
    if (!s) return false;
    // One of the repository's own manifests names it, or its upstream says the repository has it.
    let ok = (await this.index.listManifests(local)).some((m) => m.blobs.includes(d.value));
    if (!ok && upstream && remote && upstream.breaker.closed) {
      const h = await upstream.get('HEAD', remote.repo, `blobs/${d.value}`).catch(() => undefined);
      await h?.body.dump();
      ok = h?.statusCode === 200;
    }
    if (!ok) return false;
    try {
      await this.registry.uploads.link(local, d, s.size);
    } catch (err) {
      // collected (mirror.cache, garbage collection) between the look and the link: fetch it again
      if (err instanceof RegistryError && err.code === 'BLOB_UPLOAD_INVALID') return false;
      throw err;
    }
    return true;
  }

  /** Links the blob into `local` once its fill has stored it (a failure is logged once, here). */
  private linkWhenDone(local: string, d: Digest, f: Filling): Promise<void> {
    let linked = f.links.get(local);
    if (!linked) {
      linked = f.fill.done.then(({ size }) => this.registry.uploads.link(local, d, size));
      linked.catch((err: unknown) => this.log?.warn({ repository: local, digest: d.value, err: (err as Error).message }, 'pull-through blob not stored'));
      f.links.set(local, linked);
    }
    return linked;
  }

  private async startFill(upstream: Upstream, remote: Remote, d: Digest): Promise<Filling> {
    this.counters.blobFetches++;
    const r = await upstream.get('GET', remote.repo, `blobs/${d.value}`);
    if (r.statusCode !== 200) {
      await r.body.dump();
      throw new UpstreamError(`GET blob: HTTP ${r.statusCode}`, r.statusCode);
    }
    const len = /^\d+$/.test(String(r.headers['content-length'] ?? '')) ? Number(r.headers['content-length']) : undefined;
    let fill: BlobFill;
    try {
      fill = await this.store.fill(r.body, d, len);
    } catch (err) {
      r.body.destroy(); // no temp file could be made: the upstream connection must not stay open
      throw err;
    }
    const entry: Filling = { fill, size: len, links: new Map() };
    this.fills.set(d.value, entry);
    fill.done
      .catch((err: unknown) => {
        this.counters.upstreamErrors++;
        this.log?.warn({ upstream: upstream.host, digest: d.value, err: (err as Error).message }, 'pull-through fetch failed');
      })
      .finally(() => this.fills.delete(d.value));
    return entry;
  }

  /** Starts (or joins) the fetch of a missing blob. */
  private async filling(local: string, remote: Remote | undefined, d: Digest): Promise<Filling | undefined> {
    const upstream = this.upstream(remote);
    let f = this.fills.get(d.value);
    if (!f) {
      if (await this.adoptStored(local, d, remote, upstream)) return undefined;
      if (!upstream) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${d.value}`);
      try {
        // A fetch may have started while adoptStored() looked, and its single-flight run may be
        // over already (it ends once the fill is under way): join that fill rather than fetch again.
        // It may even have ended, the blob stored: then there is nothing to fetch.
        f = await this.blobFlights.run(d.value, async () => this.fills.get(d.value) ?? ((await this.store.stat(d)) ? undefined : this.startFill(upstream, remote!, d)));
        if (!f && (await this.adoptStored(local, d, remote, upstream))) return undefined;
        f ??= await this.blobFlights.run(d.value, async () => this.fills.get(d.value) ?? this.startFill(upstream, remote!, d));
      } catch (err) {
        this.counters.upstreamErrors++;
        throw unavailable(err, 'BLOB_UNKNOWN', `blob ${d.value}`);
      }
    }
    if (!f) return undefined; // joined a run that found the blob stored
    this.linkWhenDone(local, d, f).catch(() => undefined); // logged where it is made
    return f;
  }

  /** GET: the blob from the store, or from its upstream as it arrives. */
  async blob(local: string, remote: Remote | undefined, ref: string): Promise<{ digest: Digest; blob: OpenBlob }> {
    const d = parseDigest(ref);
    if (await this.index.blobLink(local, d.value)) {
      const blob = await this.store.open(d);
      if (blob) return { digest: d, blob };
    }
    const f = await this.filling(local, remote, d);
    // follow a fill still running; one that is over has its blob in the store (or none: a clean miss)
    if (f && f.size !== undefined && !f.fill.over) return { digest: d, blob: f.fill.reader(f.size) };
    if (f) await f.fill.done.catch((err: unknown) => Promise.reject(unavailable(err, 'BLOB_UNKNOWN', `blob ${d.value}`)));
    const blob = await this.store.open(d);
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${d.value}`);
    return { digest: d, blob };
  }

  /** HEAD: the blob's size, from the store, a fetch in progress, or the upstream (nothing is fetched). */
  async blobSize(local: string, remote: Remote | undefined, ref: string): Promise<{ digest: Digest; size: number }> {
    const d = parseDigest(ref);
    if (await this.index.blobLink(local, d.value)) {
      const s = await this.store.stat(d);
      if (s) return { digest: d, size: s.size };
    }
    const upstream = this.upstream(remote);
    const f = this.fills.get(d.value);
    if (f?.size !== undefined) return { digest: d, size: f.size };
    if (await this.adoptStored(local, d, remote, upstream)) return { digest: d, size: (await this.store.stat(d))!.size };
    if (!upstream) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${d.value}`);
    let h;
    try {
      h = await upstream.get('HEAD', remote!.repo, `blobs/${d.value}`);
    } catch (err) {
      throw unavailable(err, 'BLOB_UNKNOWN', `blob ${d.value}`);
    }
    await h.body.dump();
    const len = Number(h.headers['content-length']);
    if (h.statusCode !== 200 || !Number.isSafeInteger(len)) throw unavailable(new UpstreamError(`HEAD blob: HTTP ${h.statusCode}`, h.statusCode), 'BLOB_UNKNOWN', `blob ${d.value}`);
    return { digest: d, size: len };
  }

  /** Stores a blob and links it, waiting until it is all there (scheduled sync). */
  async prefetchBlob(local: string, remote: Remote, digest: string): Promise<void> {
    const d = parseDigest(digest);
    if (await this.index.blobLink(local, d.value)) return;
    const f = await this.filling(local, remote, d);
    if (f) await this.linkWhenDone(local, d, f);
  }

  /** Ends upstream connections; fetches still running fail and leave nothing behind. */
  async close(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
    await Promise.all([...this.fills.values()].map((f) => f.fill.done.catch(() => undefined)));
  }
}
