/**
 * The store-scale phase: berth started on a store of `repos` repositories holding `blobsPerRepo` blobs
 * each (1,000,000 blobs in 100,000 repositories in the full run), written offline through berth's own
 * blob store, index and manifest service (fsync off, to keep the setup short). Each repository has
 * one tagged manifest over a config and the layers, and one linked blob nothing references (what an
 * abandoned push leaves), which the GC pass collects. Printed: start-up time, idle RSS, a `_catalog`
 * page, a tags page, and the GC pass's time and peak RSS over the idle figure.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OCI_MANIFEST, latency, pool, runConcurrent, sha256 } from './load.js';
import { dirname, join } from 'node:path';
import type { Pool } from 'undici';
import { Peaks, idleRss, startBerth, usage, type Server } from './servers.js';
import type { Figures } from './phases.js';

const MiB = 1024 * 1024;

/** What the fill uses of dist/open.js (the bench compiles apart from berth's sources). */
interface Opened {
  blobs: { ingest(body: Buffer[], digest: unknown, size: number): Promise<unknown> };
  index: { linkBlob(repo: string, digest: string, size: number): Promise<void> };
  registry: { manifests: { put(repo: string, ref: string, contentType: string, bytes: Buffer): Promise<unknown> } };
  close(): Promise<void>;
}

const dist = (path: string) => pathToFileURL(fileURLToPath(new URL(`../../dist/${path}`, import.meta.url))).href;

export const repoName = (i: number) => `scale/r${String(i).padStart(6, '0')}`;

/** Writes the store; returns the seconds it took. */
export async function fillStore(root: string, repos: number, blobsPerRepo: number): Promise<number> {
  const { openRegistry } = (await import(dist('open.js'))) as { openRegistry(o: { root: string; fsync: boolean }): Promise<Opened> };
  const { parseDigest } = (await import(dist('oci/digest.js'))) as { parseDigest(s: string): unknown };
  const opened = await openRegistry({ root, fsync: false });
  const t = Date.now();
  try {
    await runConcurrent(repos, 32, async (i) => {
      const repo = repoName(i);
      const put = async (bytes: Buffer) => {
        const digest = sha256(bytes);
        await opened.blobs.ingest([bytes], parseDigest(digest), bytes.length);
        await opened.index.linkBlob(repo, digest, bytes.length);
        return { digest, size: bytes.length };
      };
      const config = await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: i })));
      const layers = [];
      for (let l = 0; l < blobsPerRepo - 2; l++) layers.push(await put(randomBytes(32)));
      await put(randomBytes(32)); // linked, never referenced: garbage for the GC pass
      const desc = (d: { digest: string; size: number }, mediaType: string) => ({ mediaType, digest: d.digest, size: d.size });
      const manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: desc(config, 'application/vnd.oci.image.config.v1+json'),
        layers: layers.map((l) => desc(l, 'application/vnd.oci.image.layer.v1.tar+gzip')),
      };
      await opened.registry.manifests.put(repo, 'v1', OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)));
      if (i > 0 && i % 10_000 === 0) console.log(`store scale: ${i} repositories written (${((Date.now() - t) / 1000).toFixed(0)} s)`);
    });
  } finally {
    await opened.close();
  }
  return (Date.now() - t) / 1000;
}

interface GcPass {
  seconds: number;
  repositories: number;
  blobsDeleted: number;
  before: { rss: number; rssAnon: number };
  after: { rss: number; rssAnon: number; rssFile: number };
  /** Peak VmHWM during the pass (MiB) and peak anonymous RSS (bytes, sampled every 200 ms). */
  peak: number;
  anonPeak: number;
}

/**
 * One GC pass through `POST /_berth/gc` on a berth serving a filled store. VmHWM counts LevelDB's
 * memory-mapped tables, page cache a walk of the index maps in: the process's own (anonymous)
 * memory is sampled apart, every 200 ms.
 */
async function gcPass(server: Server, p: Pool, peaks: Peaks, repos: number): Promise<GcPass> {
  await peaks.take(server.pid);
  const before = await usage(server.pid);
  const t = Date.now();
  let anonPeak = before.rssAnon;
  const sampling = setInterval(() => void usage(server.pid).then((u) => (anonPeak = Math.max(anonPeak, u.rssAnon)), () => undefined), 200);
  const res = await p.request({ method: 'POST', path: '/_berth/gc', headersTimeout: 0, bodyTimeout: 0 }).finally(() => clearInterval(sampling));
  const report = (await res.body.json()) as { blobsDeleted: number; linksRemoved: number; repositories: number };
  if (res.statusCode !== 200) throw new Error(`GC: HTTP ${res.statusCode} ${JSON.stringify(report)}`);
  const seconds = (Date.now() - t) / 1000;
  const peak = (await peaks.take(server.pid)) / MiB;
  const after = await usage(server.pid);
  if (report.blobsDeleted !== repos || report.linksRemoved !== repos) throw new Error(`GC collected ${report.blobsDeleted} blobs and ${report.linksRemoved} links, expected ${repos} of each`);
  return { seconds, repositories: report.repositories, blobsDeleted: report.blobsDeleted, before, after, peak, anonPeak };
}

/**
 * Whether GC's memory is bounded (it must not hold the whole listing): the same pass on a store a
 * tenth the size, from a fresh berth, to compare its anonymous growth with the full store's.
 */
async function tenthGcGrowth(root: string, repos: number, blobsPerRepo: number): Promise<number> {
  await fillStore(root, repos, blobsPerRepo);
  const server = await startBerth(root, { name: 'berth-scale-tenth', config: 'storage:\n  gc:\n    delay: 0s\n' });
  const p = pool(server.url, 1);
  try {
    await idleRss(server, 10);
    const g = await gcPass(server, p, new Peaks(), repos);
    console.log(`store scale (berth), a tenth: GC ${g.seconds.toFixed(1)} s over ${g.repositories} repositories, anonymous RSS ${(g.before.rssAnon / MiB).toFixed(1)} MiB before, peak ${(g.anonPeak / MiB).toFixed(1)}`);
    return (g.anonPeak - g.before.rssAnon) / MiB;
  } finally {
    await p.close();
    await server.stop();
  }
}

/** Starts berth on the filled store and takes the phase's figures. */
export async function storeScale(root: string, repos: number, blobsPerRepo: number, samples: number): Promise<Figures> {
  const tenthGrowth = await tenthGcGrowth(join(dirname(root), 'tenth', 'root'), Math.max(1, Math.round(repos / 10)), blobsPerRepo);
  const fillSeconds = await fillStore(root, repos, blobsPerRepo);
  const server = await startBerth(root, { name: 'berth-scale', config: 'storage:\n  gc:\n    delay: 0s\n' });
  const peaks = new Peaks();
  try {
    const rss1s = await idleRss(server, 1);
    const rss10s = await idleRss(server, 9);
    const p = pool(server.url, 1);
    const mid = repoName(repos >> 1);
    const catalogPage = await latency(p, `/v2/_catalog?n=100&last=${encodeURIComponent(mid)}`, samples);
    const tagsPage = await latency(p, `/v2/${mid}/tags/list?n=100`, samples);
    const g = await gcPass(server, p, peaks, repos);
    await p.close();
    console.log(
      `store scale (berth): ${repos * blobsPerRepo} blobs in ${repos} repositories written in ${fillSeconds.toFixed(0)} s; ready in ${server.startMs} ms; ` +
        `RSS ${rss1s.toFixed(1)} MiB at 1 s, ${rss10s.toFixed(1)} at 10 s; catalog page ${catalogPage.toFixed(2)} ms, tags page ${tagsPage.toFixed(2)} ms; ` +
        `GC ${g.seconds.toFixed(1)} s over ${g.repositories} repositories (${g.blobsDeleted} blobs deleted), RSS ${(g.before.rss / MiB).toFixed(1)} MiB before (anonymous ${(g.before.rssAnon / MiB).toFixed(1)}), peak ${g.peak.toFixed(1)} during (anonymous ${(g.anonPeak / MiB).toFixed(1)}), ` +
        `${(g.after.rss / MiB).toFixed(1)} after (anonymous ${(g.after.rssAnon / MiB).toFixed(1)}, file-backed ${(g.after.rssFile / MiB).toFixed(1)}: the node binary and LevelDB's mapped tables); ` +
        `anonymous growth ${((g.anonPeak - g.before.rssAnon) / MiB).toFixed(1)} MiB against ${tenthGrowth.toFixed(1)} on a tenth of the store`,
    );
    return {
      scaleStartMs: server.startMs, scaleRss1s: rss1s, scaleRss: rss10s, scaleCatalogPage: catalogPage, scaleTagsPage: tagsPage, scaleGcSeconds: g.seconds,
      scaleGcRssBefore: g.before.rss / MiB, scaleGcPeak: g.peak, scaleGcAnonBefore: g.before.rssAnon / MiB, scaleGcAnonPeak: g.anonPeak / MiB, scaleGcTenthGrowth: tenthGrowth,
    };
  } finally {
    await server.stop();
  }
}
