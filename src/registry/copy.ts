/**
 * Copies a whole registry from one pair of engines to another (`berth migrate`): every blob, blob
 * link, manifest with its bytes, tag, referrer and last-pull time. Every blob is streamed through the
 * target's ingest, which checks it against its digest; every manifest's bytes are hashed before they
 * are written. Blobs go first, then each repository's links, then its manifests and tags, so the target
 * never names content it does not hold. Run again, it skips what the target already holds: an
 * interrupted copy continues. Upload sessions in progress are not copied (their clients start again).
 */
import { digestBytes, tryParseDigest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { MetadataIndex } from '../index/metadata.js';
import { allRepositories } from '../index/repositories.js';
import { referrerDescriptor } from './manifests.js';

export interface Engines {
  blobs: BlobStore;
  index: MetadataIndex;
}

export interface CopyReport {
  blobsCopied: number;
  blobsPresent: number;
  bytesCopied: number;
  repositories: number;
  manifests: number;
  tags: number;
  links: number;
  robots: number;
  bundles: number;
  problems: string[];
}

export interface CopyProgress {
  blob?(digest: string, size: number, copied: boolean): void;
  repository?(name: string): void;
}

export async function copyRegistry(from: Engines, to: Engines, progress: CopyProgress = {}): Promise<CopyReport> {
  const report: CopyReport = { blobsCopied: 0, blobsPresent: 0, bytesCopied: 0, repositories: 0, manifests: 0, tags: 0, links: 0, robots: 0, bundles: 0, problems: [] };
  for await (const d of from.blobs.digests()) {
    const src = await from.blobs.open(d);
    if (!src) continue; // deleted meanwhile
    const have = await to.blobs.stat(d);
    if (have && have.size === src.size) {
      await src.close();
      report.blobsPresent++;
      progress.blob?.(d.value, src.size, false);
      continue;
    }
    try {
      await to.blobs.ingest(src.stream(), d, src.size); // checks the digest and the length
      report.blobsCopied++;
      report.bytesCopied += src.size;
      progress.blob?.(d.value, src.size, true);
    } catch (err) {
      report.problems.push(`blob ${d.value}: ${(err as Error).message}`);
    }
  }
  for await (const repo of allRepositories(from.index)) {
    report.repositories++;
    progress.repository?.(repo);
    for (const link of await from.index.listBlobLinks(repo)) {
      const d = tryParseDigest(link.digest);
      if (!d || !(await to.blobs.stat(d))) {
        report.problems.push(`${repo}: linked blob ${link.digest} is not in the target (not in the source store either?)`);
        continue;
      }
      await to.index.linkBlob(repo, link.digest, link.size);
      report.links++;
    }
    for (const record of await from.index.listManifests(repo)) {
      const bytes = await from.index.manifestBytes(record.digest);
      const algorithm = tryParseDigest(record.digest)?.algorithm ?? 'sha256';
      if (!bytes || digestBytes(bytes, algorithm).value !== record.digest) {
        report.problems.push(`${repo}@${record.digest}: manifest bytes ${bytes ? 'do not match their digest' : 'missing'}`);
        continue;
      }
      const referrer = referrerDescriptor(record);
      await to.index.putManifest(repo, record, bytes, referrer);
      report.manifests++;
      for (const tag of await from.index.tagsOf(repo, record.digest)) {
        await to.index.putManifest(repo, record, bytes, referrer, tag);
        report.tags++;
      }
      const pulled = await from.index.pulledAt(repo, record.digest);
      if (pulled !== undefined) await to.index.recordPulls([{ repo, digest: record.digest, at: pulled }]);
    }
  }
  // robot accounts go along (their secrets hashed as they are), revoked ones stay revoked
  for (const r of await from.index.listRobots()) {
    const { lastUsedAt, revokedAt, ...record } = r;
    await to.index.createRobot(record);
    if (revokedAt !== undefined) await to.index.revokeRobot(r.name, revokedAt);
    if (lastUsedAt !== undefined) await to.index.noteRobotUse(r.name, lastUsedAt);
    report.robots++;
  }
  // imported bundles' records, with their first import times (retention keeps the last versions by them)
  for (const b of await from.index.listBundles()) {
    await to.index.putBundle(b);
    report.bundles++;
  }
  return report;
}
