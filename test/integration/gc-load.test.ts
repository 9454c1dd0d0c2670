/**
 * GC under load: pushers (who also untag), pullers and a garbage collector looping together for a
 * minute, then every tagged image must still pull intact, and nothing a pusher got a 201 for may
 * have lost a blob. On one registry (the default engines, and blobs in S3 with the metadata in
 * PostgreSQL), and on three replicas over S3 and PostgreSQL: the pushes and pulls go round-robin
 * through all of them while two of them keep asking to collect (one at a time holds the lease).
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { ENGINES } from '../helpers/engines.js';
import { startReplicas, type Replicas } from '../helpers/replicas.js';

const SECONDS = 60;
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Report {
  bytesReclaimed: number;
  manifestsDeleted: number;
}

/**
 * `collect`: one collection with the grace delay (undefined when another replica held the lease);
 * `last`: one that nothing younger than the end of the load escapes.
 */
async function gcUnderLoad(
  label: string,
  url: string,
  collect: (collector: number) => Promise<Report | undefined>,
  last: () => Promise<Report>,
  collectors: number[],
): Promise<void> {
  const end = Date.now() + SECONDS * 1000;
  const stats = { pushed: 0, untagged: 0, untaggedMidPull: 0, pulled: 0, gcRuns: 0, leaseBusy: 0, reclaimed: 0, manifestsDeleted: 0, failures: [] as string[] };
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
    if (r.status !== 200) throw new Error(`GET ${repo}:${tag} ${r.status} ${await r.text()}`);
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
      if (b.status !== 200) throw new Error(`blob ${d} of ${repo}:${tag}: ${b.status} ${await b.text()}`);
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
  const collector = async (n: number) => {
    while (Date.now() < end) {
      const report = await collect(n);
      if (!report) stats.leaseBusy++;
      else {
        stats.gcRuns++;
        stats.reclaimed += report.bytesReclaimed;
        stats.manifestsDeleted += report.manifestsDeleted;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await Promise.all([pusher(0), pusher(1), pusher(2), puller(), puller(), ...collectors.map((n) => collector(n))]);
  // a last collection with no grace at all, then every tag still standing must pull whole
  const final = await last();
  stats.reclaimed += final.bytesReclaimed;
  // 8 at a time: on S3 each blob GET is two requests to the store, and 300 tags one by one took 40 s
  for (let i = 0; i < tags.length; i += 8) await Promise.all(tags.slice(i, i + 8).map((t) => check(t.repo, t.tag, true)));
  console.log(`gc under load (${label}): ${stats.pushed} images pushed, ${stats.untagged} untagged, ${stats.pulled} pulls checked (${stats.untaggedMidPull} untagged and collected mid-pull), ${stats.gcRuns} GC runs (${stats.leaseBusy} refused: lease held), ${stats.manifestsDeleted} manifests and ${stats.reclaimed} bytes reclaimed, ${tags.length} tags verified at the end`);
  expect(stats.failures).toEqual([]);
  expect(stats.gcRuns).toBeGreaterThan(5);
  expect(stats.manifestsDeleted).toBeGreaterThan(0);
  expect(stats.reclaimed).toBeGreaterThan(0);
}

describe.each(ENGINES)('garbage collection under load (%s engines)', (engine) => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ listen: true, engine });
  });
  afterAll(() => reg.close());

  it(`keeps every tagged image intact while pushers, pullers and GC run for ${SECONDS} s`, async () => {
    const gc = reg.opened.registry.gc;
    await gcUnderLoad(`${engine} engines`, reg.url!, () => gc.run({ delayMs: 5000, dryRun: false }), () => gc.run({ delayMs: 0, dryRun: false }), [0]);
  }, (SECONDS + 90) * 1000);
});

describe('garbage collection under load (three replicas, s3+postgres)', () => {
  let r: Replicas;
  beforeAll(async () => {
    r = await startReplicas(3, { storage: { gc: { delay: '5s' } } });
  }, 60_000);
  afterAll(() => r?.stop());

  it(`keeps every tagged image intact while pushes and pulls go to all replicas and two of them collect for ${SECONDS} s`, async () => {
    const collect = async (i: number): Promise<Report | undefined> => {
      const res = await fetch(`${r.berths[i]!.url}/_berth/gc`, { method: 'POST' });
      if (res.status === 503) return (await res.arrayBuffer(), undefined); // the other one collects
      if (res.status !== 200) throw new Error(`gc on replica ${i}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Report;
    };
    await gcUnderLoad('three replicas', r.url, collect, async () => {
      // the grace delay is replica configuration: waiting it out makes everything eligible
      await new Promise((res) => setTimeout(res, 6500));
      return (await collect(2))!;
    }, [0, 1]);
    expect(new Set(r.served).size).toBe(3);
  }, (SECONDS + 120) * 1000);
});
