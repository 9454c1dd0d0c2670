/**
 * Many replicas over one store (S3 in Ceph RGW, metadata in PostgreSQL), each request to any of
 * them: three real `berth serve` processes behind a round-robin proxy (test/helpers/replicas.ts).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { runCli } from '../helpers/spawn.js';
import { blob, imageManifest, OCI_MANIFEST, sha256 } from '../helpers/oci.js';

let r: Replicas;
/** What each digest the tests pushed was, to name what verify reports. */
const names = new Map<string, string>();

beforeAll(async () => {
  r = await startReplicas(3, { storage: { gc: { delay: '0s' } } });
}, 60_000);

afterAll(async () => {
  await r?.stop();
});

async function upload(base: string, repo: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(res.status).toBe(202);
  return new URL(res.headers.get('location')!, base).pathname;
}

async function patch(base: string, path: string, bytes: Buffer, start: number): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + bytes.length - 1}` },
    body: bytes,
  });
}

/** `strays`: blobs stored by a push killed before it linked them are allowed (garbage collection's to take). */
async function verifyClean(context: string, strays = false): Promise<void> {
  const v = await runCli(['verify', ...r.configArgs, '--root', r.berths[0]!.root]);
  const report = JSON.parse(v.stdout) as { blobsChecked: number; problems: { kind: string; digest?: string }[] };
  const named = report.problems.filter((p) => !strays || p.kind !== 'stray-blob').map((p) => ({ ...p, was: names.get(p.digest ?? '') }));
  expect(named, context).toEqual([]);
  expect(report.blobsChecked).toBeGreaterThan(0);
}

describe('replicas behind a round-robin proxy (s3+postgres)', () => {
  it('completes a chunked upload whose POST, every PATCH and the PUT each land on another replica', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 77);
    const digest = sha256(bytes);
    names.set(digest, 'chunked');
    const from = r.served.length;
    const path = await upload(r.url, 'chunks/app');
    const sizes = [1, 1024 * 1024, 3, 2 * 1024 * 1024, 5000];
    let at = 0;
    for (const n of sizes) {
      const res = await patch(r.url, path, bytes.subarray(at, at + n), at);
      expect(res.status, await res.text()).toBe(202);
      at += n;
      expect(res.headers.get('range')).toBe(`0-${at - 1}`);
    }
    const put = await fetch(`${r.url}${path}?digest=${digest}`, { method: 'PUT', body: bytes.subarray(at) });
    expect(put.status, await put.text()).toBe(201);
    const seen = r.served.slice(from);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    for (const b of r.berths) {
      const got = await fetch(`${b.url}/v2/chunks/app/blobs/${digest}`);
      expect(got.status).toBe(200);
      expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(digest);
    }
  });

  it('lets a client resume an upload through the others when the replica under it is killed mid-chunk', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const digest = sha256(bytes);
    names.set(digest, 'resumed');
    const path = await upload(r.url, 'resume/app');
    expect((await patch(r.url, path, bytes.subarray(0, 1024 * 1024), 0)).status).toBe(202);
    // the next chunk goes straight to replica 2, which dies with half of it received
    const cut = new Promise<void>((resolve) => {
      const req = httpRequest(`${r.berths[2]!.url}${path}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${1024 * 1024}-${2 * 1024 * 1024 - 1}`, 'content-length': String(1024 * 1024) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(bytes.subarray(1024 * 1024, 1024 * 1024 + 512 * 1024));
    });
    await new Promise((res) => setTimeout(res, 300));
    await r.kill(2);
    await cut;
    try {
      const status = await fetch(`${r.url}${path}`);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe(`0-${1024 * 1024 - 1}`); // the cut chunk left nothing
      expect((await patch(r.url, path, bytes.subarray(1024 * 1024, 2 * 1024 * 1024), 1024 * 1024)).status).toBe(202);
      const put = await fetch(`${r.url}${path}?digest=${digest}`, { method: 'PUT', body: bytes.subarray(2 * 1024 * 1024) });
      expect(put.status, await put.text()).toBe(201);
      const got = await fetch(`${r.url}/v2/resume/app/blobs/${digest}`);
      expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(digest);
    } finally {
      await r.restart(2);
    }
  });

  it('drains only the replica that gets SIGTERM: its upload in flight completes, the others keep serving', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const digest = sha256(bytes);
    names.set(digest, 'drained');
    const path = await upload(r.url, 'drain/app');
    const target = r.berths[1]!;
    // a PATCH to replica 1 with half its body sent when the signal comes
    const answered = new Promise<{ status: number; range: string | undefined }>((resolve, reject) => {
      const req = httpRequest(`${target.url}${path}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${bytes.length - 1}`, 'content-length': String(bytes.length) },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, range: res.headers.range as string | undefined });
      });
      req.write(bytes.subarray(0, 1024 * 1024));
      setTimeout(() => {
        target.child.kill('SIGTERM');
        setTimeout(() => req.end(bytes.subarray(1024 * 1024)), 500);
      }, 300);
    });
    await new Promise((res) => setTimeout(res, 500)); // the signal has come; replica 1 drains
    for (const i of [0, 2]) {
      const ready = await fetch(`${r.berths[i]!.url}/readyz`);
      expect(ready.status, `replica ${i} during the drain of replica 1`).toBe(200);
      expect((await fetch(`${r.berths[i]!.url}/v2/`)).status).toBe(200);
    }
    expect(await answered).toEqual({ status: 202, range: `0-${bytes.length - 1}` });
    const code = target.child.exitCode ?? (await new Promise<number | null>((res) => target.child.once('exit', res)));
    expect(code).toBe(0);
    await r.restart(1); // the proxy took it out, and puts it back once it answers again
    const put = await fetch(`${r.url}${path}?digest=${digest}`, { method: 'PUT' });
    expect(put.status, await put.text()).toBe(201);
    const got = await fetch(`${r.url}/v2/drain/app/blobs/${digest}`);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(digest);
  });

  it('never serves a moved tag stale: moved 200 times through A, read through B after each 201', async () => {
    const [a, b] = [r.berths[0]!, r.berths[1]!];
    const config = blob(100);
    names.set(config.digest, 'moving config');
    const post = await fetch(`${a.url}/v2/moving/app/blobs/uploads/?digest=${config.digest}`, { method: 'POST', body: config.bytes });
    expect(post.status).toBe(201);
    let stale = 0;
    for (let i = 0; i < 200; i++) {
      const m = imageManifest(config, [], { annotations: { n: String(i) } });
      const put = await fetch(`${a.url}/v2/moving/app/manifests/latest`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
      expect(put.status).toBe(201);
      // B has the previous digest hot in its cache (read just before this move)
      const got = await fetch(`${b.url}/v2/moving/app/manifests/latest`, { headers: { accept: OCI_MANIFEST } });
      expect(got.status).toBe(200);
      if (got.headers.get('docker-content-digest') !== m.digest) stale++;
      const head = await fetch(`${b.url}/v2/moving/app/manifests/latest`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
      if (head.headers.get('docker-content-digest') !== m.digest) stale++;
    }
    expect(stale).toBe(0);
    // B checked every read against the tag's stamp, and each move made its cached entry a miss
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(metric('berth_manifest_stamp_checks_total')).toBeGreaterThanOrEqual(400);
    expect(metric('berth_manifest_stamp_queries_total')).toBeGreaterThan(0);
    expect(metric('berth_manifest_stamp_queries_total')).toBeLessThanOrEqual(metric('berth_manifest_stamp_checks_total'));
    expect(metric('berth_manifest_cache_misses_total')).toBeGreaterThanOrEqual(200);
    // a tag deleted through A is gone on B at once
    expect((await fetch(`${a.url}/v2/moving/app/manifests/latest`, { method: 'DELETE' })).status).toBe(202);
    expect((await fetch(`${b.url}/v2/moving/app/manifests/latest`, { headers: { accept: OCI_MANIFEST } })).status).toBe(404);
    const tags = await fetch(`${b.url}/v2/moving/app/tags/list`);
    expect(await tags.json()).toEqual({ name: 'moving/app', tags: [] });
  });

  it('runs one collection at a time, and another replica takes over at once when the one collecting is killed', async () => {
    // garbage: unreferenced blobs (gc.delay is 0 here), enough that a collection takes a while on S3
    for (let i = 0; i < 120; i++) {
      const g = blob(64);
      names.set(g.digest, `garbage ${i}`);
      expect((await fetch(`${r.url}/v2/garbage/app/blobs/uploads/?digest=${g.digest}`, { method: 'POST', body: g.bytes })).status).toBe(201);
    }
    const kept = blob(2048);
    expect((await fetch(`${r.url}/v2/kept/app/blobs/uploads/?digest=${kept.digest}`, { method: 'POST', body: kept.bytes })).status).toBe(201);
    const km = imageManifest(kept, [kept]);
    expect((await fetch(`${r.url}/v2/kept/app/manifests/v1`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: km.bytes })).status).toBe(201);
    // S3 dates objects to the second: a blob's age is counted from the end of its second, so the
    // last ones pushed are garbage (older than gc.delay 0) only a second later
    await new Promise((res) => setTimeout(res, 1100));
    const first = fetch(`${r.berths[0]!.url}/_berth/gc`, { method: 'POST' }).then((x) => x.status, () => 0);
    await new Promise((res) => setTimeout(res, 400));
    const second = await fetch(`${r.berths[1]!.url}/_berth/gc`, { method: 'POST' });
    expect(second.status, await second.text()).toBe(503); // the first holds the lease
    await r.kill(0);
    expect(await first).toBe(0); // its caller saw the connection cut
    const t = Date.now();
    let report: { blobsDeleted: number } | undefined;
    while (!report && Date.now() - t < 15_000) {
      const again = await fetch(`${r.berths[1]!.url}/_berth/gc`, { method: 'POST' });
      if (again.status === 200) report = (await again.json()) as { blobsDeleted: number };
      else await new Promise((res) => setTimeout(res, 200));
    }
    expect(report, "another replica took the lease").toBeDefined();
    await r.restart(0);
    await verifyClean(`after ${JSON.stringify(report)}`);
    const got = await fetch(`${r.url}/v2/kept/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expect(got.headers.get('docker-content-digest')).toBe(km.digest);
    expect((await fetch(`${r.url}/v2/kept/app/blobs/${kept.digest}`)).status).toBe(200);
  });

  it('loses no acknowledged image while one replica after another is killed and restarted under concurrent pushes', async () => {
    const acked: { repo: string; tag: string; digest: string; blobs: Buffer[] }[] = [];
    const end = Date.now() + 20_000;
    const push = async (id: number) => {
      for (let i = 0; Date.now() < end; i++) {
        try {
          const repo = `churn/p${id}`;
          const layers = [randomBytes(randomInt(1, 300_000)), Buffer.from(JSON.stringify({ id, i, n: randomBytes(4).toString('hex') }))];
          for (const l of layers) {
            const up = await fetch(`${r.url}/v2/${repo}/blobs/uploads/?digest=${sha256(l)}`, { method: 'POST', body: l });
            if (up.status !== 201) throw new Error(`blob ${up.status}`);
          }
          const m = Buffer.from(JSON.stringify({
            schemaVersion: 2, mediaType: OCI_MANIFEST,
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(layers[1]!), size: layers[1]!.length },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layers[0]!), size: layers[0]!.length }],
          }));
          const tag = `t${i}`;
          const put = await fetch(`${r.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_MANIFEST }, body: m });
          if (put.status === 201) acked.push({ repo, tag, digest: sha256(m), blobs: layers });
        } catch {
          // cut by a kill: the next push goes to a replica that is up
        }
      }
    };
    const churn = async () => {
      let kills = 0;
      while (Date.now() < end - 3000) {
        await new Promise((res) => setTimeout(res, 3000));
        await r.restart(randomInt(0, 3)); // SIGKILL, then start it again on its address
        kills++;
      }
      return kills;
    };
    const [kills] = await Promise.all([churn(), push(0), push(1), push(2), push(3)]);
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(acked.length).toBeGreaterThan(20);
    const check = async (a: (typeof acked)[number]) => {
      const got = await fetch(`${r.url}/v2/${a.repo}/manifests/${a.tag}`, { headers: { accept: OCI_MANIFEST } });
      expect(got.status, `${a.repo}:${a.tag}`).toBe(200);
      expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(a.digest);
      for (const b of a.blobs) {
        const blobRes = await fetch(`${r.url}/v2/${a.repo}/blobs/${sha256(b)}`);
        expect(Buffer.from(await blobRes.arrayBuffer()).equals(b), `${a.repo}:${a.tag} blob`).toBe(true);
      }
    };
    for (let i = 0; i < acked.length; i += 8) await Promise.all(acked.slice(i, i + 8).map(check));
    await verifyClean(`after ${kills} kills and ${acked.length} acknowledged pushes`, true);
    console.log(`replica churn: ${kills} replicas killed and restarted, ${acked.length} acknowledged images all intact, verify clean`);
  }, 180_000);
});
