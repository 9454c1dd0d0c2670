/**
 * mirror.cache with a real upstream and a real berth: past its budget, the least recently pulled
 * mirrored images are evicted first, exactly those, with their blobs; pinned, pushed and imported
 * images stay. Pulls that race evictions (a budget that evicts everything, enforced over and over)
 * each end with the right digests or a clean miss.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth, requesterOf } from '../helpers/spawn.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { OCI_MANIFEST, blob, imageManifest, pushBlob, pushManifest, sha256, type Blob, type Manifest } from '../helpers/oci.js';

interface Image {
  name: string;
  config: Blob;
  layer: Blob;
  manifest: Manifest;
}


/** A pull as a client makes it: the manifest by tag, then each blob, every digest checked. */
async function pull(b: Berth, repo: string, img: Image): Promise<'ok' | 'miss'> {
  const m = await fetch(`${b.url}/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST }, signal: AbortSignal.timeout(10_000) });
  const body = Buffer.from(await m.arrayBuffer());
  if (m.status === 404) return missOf(body, 'MANIFEST_UNKNOWN');
  if (m.status !== 200) throw new Error(`manifest ${repo}:v1: HTTP ${m.status} ${body.toString().slice(0, 200)}`);
  if (sha256(body) !== img.manifest.digest) throw new Error(`manifest ${repo}:v1: wrong bytes`);
  for (const x of [img.config, img.layer]) {
    const r = await fetch(`${b.url}/v2/${repo}/blobs/${x.digest}`, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
      throw new Error(`blob ${x.digest} of ${repo}: ${err.message} ${String((err as { cause?: unknown }).cause)}`);
    });
    const bytes = Buffer.from(
      await r.arrayBuffer().catch((err: Error) => {
        throw new Error(`blob ${x.digest} of ${repo} (HTTP ${r.status}, body): ${err.message} ${String((err as { cause?: unknown }).cause)} ${JSON.stringify([...r.headers])}`);
      }),
    );
    if (r.status === 404) return missOf(bytes, 'BLOB_UNKNOWN');
    if (r.status !== 200) throw new Error(`blob ${x.digest} of ${repo}: HTTP ${r.status} ${bytes.toString().slice(0, 200)}`);
    if (sha256(bytes) !== x.digest) throw new Error(`blob ${x.digest} of ${repo}: wrong bytes (${bytes.length})`);
  }
  return 'ok';
}

function missOf(body: Buffer, code: string): 'miss' {
  const e = JSON.parse(body.toString()) as { errors: { code: string }[] };
  if (e.errors[0]!.code !== code) throw new Error(`a miss with ${e.errors[0]!.code}, not ${code}`);
  return 'miss';
}

const KiB = 1024;

describe('mirror.cache: a disk budget for mirrored content', () => {
  let up: Upstream;
  let dir: string;
  const images = new Map<string, Image>();

  beforeAll(async () => {
    dir = await testDirPersistent('berth-mirror-cache-');
    up = await startUpstream();
    for (const name of ['a', 'b', 'c', 'd', 'pinned']) {
      const req = await up.as(`library/${name}`);
      const img = { name, config: blob(200), layer: blob(256 * KiB) } as Image;
      img.manifest = imageManifest(img.config, [img.layer]);
      for (const x of [img.config, img.layer]) await pushBlob(req, `library/${name}`, x);
      await pushManifest(req, `library/${name}`, 'v1', img.manifest);
      images.set(name, img);
    }
  }, 60_000);
  afterAll(async () => {
    await up?.close();
  });

  const config = async (file: string, cache: object) =>
    writeFile(
      file,
      JSON.stringify({
        storage: { gc: { enabled: false } },
        mirror: { upstreams: [{ host: 'docker.io', url: up.url, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }], cache: { interval: '1h', ...cache } },
      }),
    );
  const enforce = async (b: Berth) => {
    const r = await fetch(`${b.url}/_berth/mirror/cache`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(r.status).toBe(200);
    return (await r.json()) as { before: number; after: number; limit: number; evicted: { repository: string; tags: string[] }[]; blobsDeleted: number; bytesFreed: number };
  };

  it('evicts the least recently pulled first, exactly as many as the budget needs; pinned, pushed and imported stay', async () => {
    const file = join(dir, 'order.json');
    await config(file, { maxBytes: 700_000, minAge: '0s', pin: ['docker.io/library/pinned'] });
    const root = join(dir, 'order');
    const berth = await spawnBerth({ root, args: ['--config', file] });
    try {
      // pushed into the mirror's names and elsewhere, and imported: none of it is mirrored content
      const big = blob(300 * KiB);
      const cfg = blob(100);
      for (const repo of ['docker.io/library/pushed', 'local/app']) {
        for (const x of [cfg, big]) await pushBlob(requesterOf(berth), repo, x);
        await pushManifest(requesterOf(berth), repo, 'v1', imageManifest(cfg, [big]));
      }
      const src = await spawnBerth({ root: join(dir, 'src') });
      const imported = blob(300 * KiB);
      try {
        for (const x of [cfg, imported]) await pushBlob(requesterOf(src), 'docker.io/library/imported', x);
        await pushManifest(requesterOf(src), 'docker.io/library/imported', 'v1', imageManifest(cfg, [imported]));
      } finally {
        await src.stop();
      }
      expect((await runCli(['export', 'docker.io/library/imported:v1', '-o', join(dir, 'imp.tar'), '--root', src.root])).code).toBe(0);
      expect((await runCli(['import', join(dir, 'imp.tar'), '--root', root])).code).toBe(0);

      // pulled through the mirror in a known order, oldest first
      for (const name of ['pinned', 'a', 'b', 'c', 'd']) {
        expect(await pull(berth, `docker.io/library/${name}`, images.get(name)!)).toBe('ok');
        await new Promise((r) => setTimeout(r, 30));
      }
      const r = await enforce(berth);
      expect(r.evicted.map((e) => e.repository)).toEqual(['docker.io/library/a', 'docker.io/library/b', 'docker.io/library/c']);
      expect(r.evicted.every((e) => e.tags.join() === 'v1')).toBe(true);
      const each = 256 * KiB + 200;
      expect(r).toMatchObject({ before: 5 * each, after: 2 * each, limit: 700_000, blobsDeleted: 6, bytesFreed: 3 * each });
      // their blobs are gone from the store; the rest is whole (the inventory lists what is linked)
      const file_ = (d: string) => join(root, 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
      for (const n of ['a', 'b', 'c']) for (const x of [images.get(n)!.config, images.get(n)!.layer]) expect(existsSync(file_(x.digest))).toBe(false);
      const inv = JSON.parse((await runCli(['inventory', '--root', root])).stdout) as { blobs: { sha256: string[] } };
      for (const x of [big, imported, cfg, images.get('d')!.layer, images.get('pinned')!.layer]) expect(inv.blobs.sha256).toContain(x.digest.slice(7));
      for (const repo of ['docker.io/library/pushed', 'local/app', 'docker.io/library/imported']) {
        expect((await fetch(`${berth.url}/v2/${repo}/manifests/v1`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } })).status).toBe(200);
      }
      // within the budget now: nothing more goes
      expect((await enforce(berth)).evicted).toEqual([]);
      const metrics = await (await fetch(`${berth.url}/metrics`)).text();
      expect(metrics).toMatch(/^berth_mirror_cache_evictions_total 3$/m);
      expect(metrics).toMatch(new RegExp(`^berth_mirror_cache_bytes ${2 * each}$`, 'm'));
      // the web UI's storage page shows the same
      const page = (await (await fetch(`${berth.url}/api/storage`)).json()) as { mirrorCache: { bytes: number; limit: number; totals: { evictions: number } } };
      expect(page.mirrorCache).toMatchObject({ bytes: 2 * each, limit: 700_000, totals: { evictions: 3 } });
      // an evicted image is a miss the mirror fills again
      expect(await pull(berth, 'docker.io/library/a', images.get('a')!)).toBe('ok');
    } finally {
      await berth.stop();
    }
  });

  it('pulls racing evictions each get the whole image or a clean miss', async () => {
    const file = join(dir, 'race.json');
    await config(file, { maxBytes: 1, minAge: '0s' });
    const berth = await spawnBerth({ root: join(dir, 'race'), args: ['--config', file] });
    try {
      const outcomes = { ok: 0, miss: 0 };
      let evictions = 0;
      const until = Date.now() + 4000;
      const pullers = Array.from({ length: 4 }, async (_, i) => {
        const name = i % 2 ? 'a' : 'b';
        while (Date.now() < until) outcomes[await pull(berth, `docker.io/library/${name}`, images.get(name)!)]++;
      });
      const evictor = (async () => {
        while (Date.now() < until) {
          evictions += (await enforce(berth)).evicted.length;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await Promise.all([...pullers, evictor]);
      console.log(`racing pulls: ${outcomes.ok} whole, ${outcomes.miss} clean misses, ${evictions} evictions meanwhile`);
      expect(evictions).toBeGreaterThan(5);
      expect(outcomes.ok).toBeGreaterThan(20);
    } finally {
      await berth.stop();
    }
  });

  it('evicts before a push on a volume under its low-water mark, so the push fits', async () => {
    const mnt = join(dir, 'small');
    await mkdir(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    } catch (err) {
      throw new Error(`this test mounts a small tmpfs and needs root (CI runs as root): ${(err as Error).message}`);
    }
    let berth: Berth | undefined;
    try {
      const big = new Map<string, Image>();
      for (const name of ['big1', 'big2', 'big3', 'big4']) {
        const req = await up.as(`library/${name}`);
        const img = { name, config: blob(200), layer: blob(3 * 1024 * KiB) } as Image;
        img.manifest = imageManifest(img.config, [img.layer]);
        for (const x of [img.config, img.layer]) await pushBlob(req, `library/${name}`, x);
        await pushManifest(req, `library/${name}`, 'v1', img.manifest);
        big.set(name, img);
      }
      const file = join(dir, 'low.json');
      await config(file, { lowWater: '35%', minAge: '0s' });
      berth = await spawnBerth({ root: join(mnt, 'root'), args: ['--config', file] });
      for (const name of big.keys()) {
        expect(await pull(berth, `docker.io/library/${name}`, big.get(name)!)).toBe('ok');
        await new Promise((r) => setTimeout(r, 30));
      }
      const post = (bytes: Buffer) => fetch(`${berth!.url}/v2/local/push/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes });
      expect((await post(randomBytes(5 * 1024 * KiB))).status).toBe(201); // above the mark: nothing evicted
      const free = async () => {
        const f = await statfs(mnt);
        return f.bavail * f.bsize;
      };
      const next = randomBytes(7 * 1024 * KiB);
      expect(await free()).toBeLessThan(next.length); // it would not fit as things are
      const r = await post(next);
      expect(r.status).toBe(201);
      // the least recently pulled went, just enough of them: the volume is back above its mark first
      const file_ = (d: string) => join(mnt, 'root', 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
      expect(existsSync(file_(big.get('big1')!.layer.digest))).toBe(false);
      for (const n of ['big2', 'big3', 'big4']) expect(existsSync(file_(big.get(n)!.layer.digest))).toBe(true);
      expect(await (await fetch(`${berth.url}/metrics`)).text()).toMatch(/^berth_mirror_cache_evictions_total 1$/m);
    } finally {
      await berth?.stop();
      execFileSync('umount', [mnt]);
    }
  });
});
