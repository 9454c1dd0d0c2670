/**
 * Scrub (`berth verify [--repair]`): re-hashes every blob and every manifest's bytes, and checks that
 * the index and the store agree: every linked blob exists with its recorded size and every manifest
 * record has its bytes. With repair, index entries whose content is gone or corrupt are removed (and
 * corrupt files deleted), so clients get a clean BLOB_UNKNOWN / MANIFEST_UNKNOWN instead of bad
 * bytes, and a push can bring the content back.
 *
 * Blobs that no repository links are counted apart, not as problems: they are what uploads in flight
 * leave when the process dies (stored, not yet linked), or what was untagged since the last
 * collection; garbage collection takes them once they are older than its delay.
 */
import { createHash } from 'node:crypto';
import { tryParseDigest, type Digest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { KeyedLock } from './coordination.js';
import type { ManifestService } from './manifests.js';
import { allRepositories } from '../index/repositories.js';
import { linkedBlobs } from './linked-blobs.js';
import { keptChildren, parsePlatform } from '../oci/platforms.js';
import { parseManifest } from '../oci/manifest.js';

export interface Problem {
  /** missing-child: an index names a manifest the repository lacks (and did not leave out on purpose). */
  kind: 'corrupt-blob' | 'missing-blob' | 'wrong-size' | 'corrupt-manifest' | 'missing-manifest' | 'missing-child';
  digest: string;
  repository?: string;
}

export interface VerifyReport {
  blobsChecked: number;
  bytesChecked: number;
  manifestsChecked: number;
  problems: Problem[];
  /** Garbage, not damage: blobs no repository links (garbage collection's to take). */
  unlinked: { blobs: number; bytes: number };
  repaired: number;
  ms: number;
}

export class Verifier {
  constructor(
    private readonly store: BlobStore,
    private readonly index: MetadataIndex,
    private readonly manifests: ManifestService,
    private readonly repoLocks: KeyedLock,
  ) {}

  private async hashBlob(digest: Digest): Promise<string | undefined> {
    const blob = await this.store.open(digest);
    if (!blob) return undefined;
    const h = createHash(digest.algorithm);
    for await (const chunk of blob.stream()) h.update(chunk as Buffer);
    return `${digest.algorithm}:${h.digest('hex')}`;
  }

  async run(repair: boolean): Promise<VerifyReport> {
    const started = Date.now();
    const report: VerifyReport = { blobsChecked: 0, bytesChecked: 0, manifestsChecked: 0, problems: [], unlinked: { blobs: 0, bytes: 0 }, repaired: 0, ms: 0 };
    const bad = new Set<string>();
    // 1. every blob file hashes to its name (nothing is kept per blob but the corrupt ones: memory
    // does not grow with the store)
    for await (const f of this.store.list()) {
      report.blobsChecked++;
      report.bytesChecked += f.size;
      if ((await this.hashBlob(f.digest)) !== f.digest.value) {
        report.problems.push({ kind: 'corrupt-blob', digest: f.digest.value });
        bad.add(f.digest.value);
        if (repair) await this.store.delete(f.digest);
      }
    }
    // 2. every manifest's bytes hash to their digest
    const badManifests = new Set<string>();
    for await (const m of this.index.eachManifestBytes()) {
      report.manifestsChecked++;
      const d = tryParseDigest(m.digest);
      if (!d || `${d.algorithm}:${createHash(d.algorithm).update(m.bytes).digest('hex')}` !== m.digest) {
        report.problems.push({ kind: 'corrupt-manifest', digest: m.digest });
        badManifests.add(m.digest);
      }
    }
    if (repair) await this.index.deleteManifestBytes([...badManifests]);
    // 3. the index and the store agree, repository by repository
    for await (const repo of allRepositories(this.index)) {
      await this.repoLocks.run(repo, async () => {
        for (const link of await this.index.listBlobLinks(repo)) {
          const digest = tryParseDigest(link.digest);
          const size = digest && !bad.has(link.digest) ? (await this.store.stat(digest))?.size : undefined;
          const kind = bad.has(link.digest) ? 'corrupt-blob' : size === undefined ? 'missing-blob' : size !== link.size ? 'wrong-size' : undefined;
          if (!kind) continue;
          if (kind !== 'corrupt-blob') report.problems.push({ kind, digest: link.digest, repository: repo });
          if (repair) {
            await this.index.unlinkBlob(repo, link.digest);
            report.repaired++;
          }
        }
        const records = await this.index.listManifests(repo);
        const present = new Set(records.map((r) => r.digest));
        for (const r of records) {
          // an index's children are all there, unless the mirror fills them on demand or the index
          // was kept for some platforms only (mirror.platforms, --platform): then only those must be
          let absent = r.mirrored ? [] : r.manifests.filter((c) => !present.has(c));
          if (absent.length && r.platforms) {
            const bytes = await this.index.manifestBytes(r.digest);
            const kept = bytes ? keptChildren(parseManifest(bytes, r.mediaType).children ?? [], r.platforms.map(parsePlatform)) : new Set<string>();
            absent = absent.filter((c) => kept.has(c));
          }
          for (const c of absent) report.problems.push({ kind: 'missing-child', digest: c, repository: repo });
          const missing = !badManifests.has(r.digest) && (await this.index.manifestBytes(r.digest)) === undefined;
          if (missing) report.problems.push({ kind: 'missing-manifest', digest: r.digest, repository: repo });
          if ((missing || badManifests.has(r.digest)) && repair) {
            await this.manifests.collect(repo, r.digest);
            report.repaired++;
          }
        }
      });
    }
    // 4. blobs nothing links: counted, not problems (garbage collection takes them once old enough)
    for await (const { digest, linked } of linkedBlobs(this.store, this.index)) {
      if (linked || bad.has(digest.value)) continue;
      report.unlinked.blobs++;
      report.unlinked.bytes += (await this.store.stat(digest))?.size ?? 0;
    }
    report.ms = Date.now() - started;
    return report;
  }
}
