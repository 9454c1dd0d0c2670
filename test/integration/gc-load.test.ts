/**
 * GC under load: pushers (who also untag), pullers and a garbage collector looping together for a
 * minute on one registry, then every tagged image must still pull intact, and nothing a pusher got a
 * 201 for may have lost a blob. On the default engines, and with the blobs in S3 and the metadata
 * in PostgreSQL.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { ENGINES } from '../helpers/engines.js';

const SECONDS = 60;
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.each(ENGINES)('garbage collection under load (%s engines)', (engine) => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, engine });
  });
  afterAll(() => reg.close());

  it(`keeps every tagged image intact while pushers, pullers and GC run for ${SECONDS} s`, async () => {
    const url = reg.url!;
    const end = Date.now() + SECONDS * 1000;
    const stats = { pushed: 0, untagged: 0, untaggedMidPull: 0, pulled: 0, gcRuns: 0, reclaimed: 0, manifestsDeleted: 0, failures: [] as string[] };
    const tags: { repo: string; tag: string }[] = [];

    const blobUp = async (repo: string, b: Buffer) => {
      const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, { method: 'POST', body: b });
      if (r.status !== 201) throw new Error(`blob ${r.status} ${await r.text()}`);
    };
    const pusher = async (id: number) => {
      for (let i = 0; Date.now() < end; i++) {
        const repo = `load/r${randomInt(0, 4)}`;
        const shared = Buffer.from(`shared layer ${randomInt(0, 8)}`); // the same bytes across images and repositories
        const config = randomBytes(64);
        const layer = randomBytes(randomInt(1, 50_000));
        await blobUp(repo, config);
        await blobUp(repo, shared);
        await blobUp(repo, layer);
        const m = Buffer.from(JSON.stringify({
          schemaVersion: 2, mediaType: OCI,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
          layers: [shared, layer].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
        }));
        const tag = `p${id}-${i}`;
        const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI }, body: m });
        if (r.status !== 201) {
          stats.failures.push(`PUT ${repo}:${tag} ${r.status} ${await r.text()}`);
          continue;
        }
        stats.pushed++;
        tags.push({ repo, tag });
        if (i % 3 === 0 && tags.length > 5) {
          // untag an older image: garbage for the collector
          const [old] = tags.splice(randomInt(0, tags.length - 1), 1);
          if ((await fetch(`${url}/v2/${old!.repo}/manifests/${old!.tag}`, { method: 'DELETE' })).status === 202) stats.untagged++;
        }
      }
    };
    const check = async (repo: string, tag: string, final: boolean) => {
      const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { accept: OCI } });
      if (r.status === 404 && !final) return; // untagged meanwhile
      if (r.status !== 200) throw new Error(`GET ${repo}:${tag} ${r.status}`);
      const m = JSON.parse(await r.text()) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
        const b = await fetch(`${url}/v2/${repo}/blobs/${d}`);
        if (b.status === 404 && !final) {
          // a pusher untagged it after the manifest GET and a collection took its blobs: only then
          // is a missing blob expected (the tag is gone now); a standing tag's blob must be there
          await b.arrayBuffer();
          const again = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: OCI } });
          if (again.status === 404) {
            stats.untaggedMidPull++;
            return;
          }
        }
        if (b.status !== 200) throw new Error(`blob ${d} of ${repo}:${tag}: ${b.status}`);
        if (sha(Buffer.from(await b.arrayBuffer())) !== d) throw new Error(`blob ${d} of ${repo}:${tag} corrupt`);
      }
      stats.pulled++;
    };
    const puller = async () => {
      while (Date.now() < end) {
        if (tags.length === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const t = tags[randomInt(0, tags.length)]!;
        try {
          await check(t.repo, t.tag, false);
        } catch (err) {
          stats.failures.push(`pull: ${(err as Error).message}`);
        }
      }
    };
    const collector = async () => {
      while (Date.now() < end) {
        const report = await reg.opened.registry.gc.run({ delayMs: 5000, dryRun: false });
        stats.gcRuns++;
        stats.reclaimed += report.bytesReclaimed;
        stats.manifestsDeleted += report.manifestsDeleted;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await Promise.all([pusher(0), pusher(1), pusher(2), puller(), puller(), collector()]);
    // a last collection with no grace at all, then every tag still standing must pull whole
    const last = await reg.opened.registry.gc.run({ delayMs: 0, dryRun: false });
    stats.reclaimed += last.bytesReclaimed;
    // 8 at a time: on S3 each blob GET is two requests to the store, and 300 tags one by one took 40 s
    for (let i = 0; i < tags.length; i += 8) await Promise.all(tags.slice(i, i + 8).map((t) => check(t.repo, t.tag, true)));
    console.log(`gc under load (${engine} engines): ${stats.pushed} images pushed, ${stats.untagged} untagged, ${stats.pulled} pulls checked (${stats.untaggedMidPull} untagged and collected mid-pull), ${stats.gcRuns} GC runs, ${stats.manifestsDeleted} manifests and ${stats.reclaimed} bytes reclaimed, ${tags.length} tags verified at the end`);
    expect(stats.failures).toEqual([]);
    expect(stats.gcRuns).toBeGreaterThan(5);
    expect(stats.manifestsDeleted).toBeGreaterThan(0);
    expect(stats.reclaimed).toBeGreaterThan(0);
  }, (SECONDS + 90) * 1000);
});
