/**
 * Online garbage collection. Mark, per repository and under the lock its manifest PUTs take: tagged
 * manifests, the children of kept indexes, and referrers whose subject is kept (a signature or SBOM of
 * a kept image stays); then the config and layers of every kept manifest. Sweep what is unreachable and
 * older than the grace delay: manifests, blob links, then blob files no repository links and manifest
 * bytes no manifest record uses, under the sweep lock that linking takes shared. A blob uploaded but
 * not yet referenced survives until its delay passes; a push racing a sweep never refers to deleted bytes.
 */
import type { BlobStore } from '../storage/blobstore.js';
import type { ManifestRecord, MetadataIndex } from '../index/metadata.js';
import type { KeyedLock, Leases, SweepGate } from './coordination.js';
import { RegistryError } from '../oci/errors.js';
import type { ManifestService } from './manifests.js';
import { allRepositories } from '../index/repositories.js';
import { linkedBlobs } from './linked-blobs.js';

const REPOSITORIES_AT_ONCE = 8;

export interface GcOptions {
  /** Only what is older than this may go (default 1 h). */
  delayMs: number;
  /** Report what would go, delete nothing. */
  dryRun: boolean;
}

export interface GcReport {
  repositories: number;
  manifestsDeleted: number;
  linksRemoved: number;
  blobsDeleted: number;
  bytesReclaimed: number;
  manifestBytesDeleted: number;
  dryRun: boolean;
  /** When the run started (ms since the epoch) and how long it took. */
  startedAt: number;
  ms: number;
}

/** The manifests of a repository that are kept: tagged, children of kept, referrers of kept. */
export function reachable(records: ManifestRecord[], tagged: Set<string>): Set<string> {
  const byDigest = new Map(records.map((r) => [r.digest, r]));
  const kept = new Set<string>();
  const visit = (d: string) => {
    if (kept.has(d) || !byDigest.has(d)) return;
    kept.add(d);
    for (const child of byDigest.get(d)!.manifests) visit(child);
  };
  for (const d of tagged) visit(d);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of records) {
      if (!kept.has(r.digest) && r.subject && kept.has(r.subject)) {
        visit(r.digest);
        grew = true;
      }
    }
  }
  return kept;
}

export class GarbageCollector {
  private running: Promise<GcReport> | undefined;
  last: GcReport | undefined;
  /** Since start: what the collections that were not dry runs did (metrics). */
  readonly totals = { runs: 0, blobsDeleted: 0, bytesReclaimed: 0 };
  /** Retention may keep a repository's untagged manifests (deleteUntagged: false). */
  collectsUntagged: (repo: string) => boolean = () => true;

  constructor(
    private readonly store: BlobStore,
    private readonly index: MetadataIndex,
    private readonly manifests: ManifestService,
    private readonly repoLocks: KeyedLock,
    private readonly sweep: SweepGate,
    private readonly leases: Leases,
  ) {}

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /**
   * One run at a time: a second call while one runs here gets the same result; while one runs in
   * another process serving the same store (the `gc` lease), UNAVAILABLE. Dry runs change nothing
   * and need no lease.
   */
  run(opts: GcOptions): Promise<GcReport> {
    this.running ??= this.leased(opts).finally(() => (this.running = undefined));
    return this.running;
  }

  private async leased(opts: GcOptions): Promise<GcReport> {
    if (opts.dryRun) return this.collect(opts);
    const r = await this.leases.run('gc', 0, () => this.collect(opts));
    if (!r.ran) throw new RegistryError('UNAVAILABLE', 'a garbage collection is running in another berth serving this registry; try again when it ends');
    return r.value;
  }

  private async collect(opts: GcOptions): Promise<GcReport> {
    const started = Date.now();
    /** In a dry run, the links that would have gone: a blob only they hold would go too. */
    const wouldUnlink = new Map<string, Set<string>>();
    const cutoff = started - opts.delayMs;
    const report: GcReport = {
      repositories: 0, manifestsDeleted: 0, linksRemoved: 0, blobsDeleted: 0, bytesReclaimed: 0, manifestBytesDeleted: 0, dryRun: opts.dryRun, startedAt: started, ms: 0,
    };
    // A few repositories at a time: their synced index writes share one log flush (group commit)
    // instead of one each, which on a large store is most of a collection's time.
    const repos = allRepositories(this.index)[Symbol.asyncIterator]();
    const worker = async () => {
      for (let r = await repos.next(); !r.done; r = await repos.next()) {
        report.repositories++;
        const repo = r.value;
        await this.repoLocks.run(repo, () => this.collectRepository(repo, cutoff, opts.dryRun, report, wouldUnlink));
      }
    };
    await Promise.all(Array.from({ length: REPOSITORIES_AT_ONCE }, worker));
    await this.sweepBlobs(cutoff, opts.dryRun, report, wouldUnlink);
    await this.sweep.alone(async () => {
      for await (const orphans of this.index.orphanManifestBytes()) {
        report.manifestBytesDeleted += orphans.length;
        if (!opts.dryRun) await this.index.deleteManifestBytes(orphans);
      }
    });
    report.ms = Date.now() - started;
    this.last = report;
    if (!opts.dryRun) {
      this.totals.runs++;
      this.totals.blobsDeleted += report.blobsDeleted;
      this.totals.bytesReclaimed += report.bytesReclaimed;
    }
    return report;
  }

  /**
   * Deletes blob files no repository links, older than the cutoff. A blob the links' snapshot holds
   * is kept without further work (linked-blobs.ts); the rest (garbage, or linked since the snapshot)
   * are checked again alone, under the sweep lock that linking takes shared, against the index as it
   * is now.
   */
  private async sweepBlobs(cutoff: number, dryRun: boolean, report: GcReport, wouldUnlink: Map<string, Set<string>>): Promise<void> {
    for await (const { digest, linked } of linkedBlobs(this.store, this.index, (d, repo) => !wouldUnlink.get(d)?.has(repo))) {
      if (linked) continue;
      await this.sweep.alone(async () => {
        const holders = await this.index.reposWithBlob(digest.value, dryRun ? 10_000 : 1);
        const pending = wouldUnlink.get(digest.value);
        if (holders.some((r) => !pending?.has(r))) return;
        const touchedAt = await this.store.touchedAt(digest);
        if (touchedAt === undefined || touchedAt > cutoff) return;
        const fresh = await this.store.stat(digest);
        if (!fresh) return;
        report.blobsDeleted++;
        report.bytesReclaimed += fresh.size;
        if (!dryRun) await this.store.delete(digest);
      });
    }
  }

  private async collectRepository(repo: string, cutoff: number, dryRun: boolean, report: GcReport, wouldUnlink: Map<string, Set<string>>): Promise<void> {
    const records = await this.index.listManifests(repo);
    const kept = this.collectsUntagged(repo) ? reachable(records, await this.index.taggedDigests(repo)) : new Set(records.map((r) => r.digest));
    const usedBlobs = new Set<string>();
    for (const r of records) {
      if (kept.has(r.digest) || r.pushedAt > cutoff) {
        for (const b of r.blobs) usedBlobs.add(b); // a young untagged manifest keeps its blobs too
        continue;
      }
      report.manifestsDeleted++;
      if (!dryRun) await this.manifests.collect(repo, r.digest);
    }
    for (const link of await this.index.listBlobLinks(repo)) {
      if (usedBlobs.has(link.digest) || link.linkedAt > cutoff) continue;
      report.linksRemoved++;
      if (!dryRun) await this.index.unlinkBlob(repo, link.digest);
      else wouldUnlink.set(link.digest, (wouldUnlink.get(link.digest) ?? new Set()).add(repo));
    }
  }
}
