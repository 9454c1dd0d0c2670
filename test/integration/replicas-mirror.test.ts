/**
 * The pull-through mirror on three replicas over one store (S3 in Ceph RGW, metadata in
 * PostgreSQL), behind the round-robin proxy: concurrent misses for one blob on every replica fetch
 * it from the upstream at most once per replica, every client gets the right bytes, and a replica
 * killed in the middle of its fetch leaves no object at the blob's key (S3's multipart upload is
 * completed only once the digest matched): the next replica asked fetches it whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { runCli } from '../helpers/spawn.js';
import { OCI_MANIFEST, pushImage, sha256 } from '../helpers/oci.js';

const MiB = 1024 * 1024;

describe('pull-through mirror on three replicas (s3+postgres)', () => {
  let up: Upstream;
  let proxy: Proxy;
  let r: Replicas;

  beforeAll(async () => {
    up = await startUpstream();
    proxy = await startProxy({ host: '127.0.0.1', port: Number(new URL(up.url).port) });
    r = await startReplicas(3, {
      mirror: { tagTTL: '0s', upstreams: [{ host: 'docker.io', url: proxy.url, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }] },
    });
  }, 60_000);
  afterAll(async () => {
    await r?.stop();
    await proxy?.close();
    await up?.close();
  });

  const blobFetches = (digest: string) => proxy.requests.filter((l) => l.startsWith('GET ') && l.includes(`/blobs/${digest}`)).length;
  const pull = async (base: string, repo: string, digest: string) => {
    const res = await fetch(`${base}/v2/${repo}/blobs/${digest}?ns=docker.io`);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, digest: sha256(body), length: body.length };
  };

  it('fetches a blob missed on every replica at once at most once per replica, and every client gets it whole', async () => {
    const image = await pushImage(await up.as('library/app'), 'library/app', '1.0', { layers: 2, layerSize: 24 * MiB });
    // the manifest through each replica, as a client's pull starts: each then holds a token for the
    // repository, so its blob fetch is one GET upstream (not a 401 first)
    for (const b of r.berths) {
      const m = await fetch(`${b.url}/v2/library/app/manifests/1.0?ns=docker.io`, { headers: { accept: OCI_MANIFEST } });
      expect(m.status).toBe(200);
      expect(sha256(Buffer.from(await m.arrayBuffer()))).toBe(image.manifest.digest);
    }
    proxy.throttle = 48 * MiB; // each fetch takes half a second: the misses overlap
    try {
      for (const layer of image.layers) {
        const from = r.served.length;
        const pulls = await Promise.all(Array.from({ length: 9 }, () => pull(r.url, 'library/app', layer.digest)));
        expect(pulls).toEqual(Array.from({ length: 9 }, () => ({ status: 200, digest: layer.digest, length: layer.bytes.length })));
        expect(new Set(r.served.slice(from)).size).toBe(3); // the misses reached every replica
        const fetches = blobFetches(layer.digest);
        console.log(`9 concurrent pulls of a missing 24 MiB blob through 3 replicas: ${fetches} upstream fetches`);
        expect(fetches).toBeGreaterThanOrEqual(1);
        expect(fetches).toBeLessThanOrEqual(3);
      }
    } finally {
      proxy.throttle = 0;
    }
    // stored once, in the shared bucket: the upstream gone, every replica serves it
    proxy.mode = 'refuse';
    try {
      for (const b of r.berths) for (const layer of image.layers) expect(await pull(b.url, 'library/app', layer.digest)).toEqual({ status: 200, digest: layer.digest, length: layer.bytes.length });
    } finally {
      proxy.mode = 'up';
    }
  }, 120_000);

  it('stores nothing for a fetch whose replica is killed midway; the next replica fetches it whole', async () => {
    const image = await pushImage(await up.as('library/cut'), 'library/cut', '1.0', { layers: 1, layerSize: 32 * MiB });
    const layer = image.layers[0]!;
    for (const b of r.berths.slice(0, 2)) expect((await fetch(`${b.url}/v2/library/cut/manifests/1.0?ns=docker.io`, { headers: { accept: OCI_MANIFEST } })).status).toBe(200);
    proxy.throttle = 16 * MiB; // two seconds for the whole blob
    try {
      const cut = fetch(`${r.berths[0]!.url}/v2/library/cut/blobs/${layer.digest}?ns=docker.io`).then(
        (res) => res.arrayBuffer().then((b) => b.byteLength, () => -1),
        () => -1,
      );
      await new Promise((res) => setTimeout(res, 700));
      await r.kill(0);
      expect(await cut).toBe(-1); // its client saw the transfer cut
      expect(blobFetches(layer.digest)).toBe(1);
      // nothing at the blob's address: replica 1 does not find it stored, and fetches it again
      expect(await pull(r.berths[1]!.url, 'library/cut', layer.digest)).toEqual({ status: 200, digest: layer.digest, length: layer.bytes.length });
      expect(blobFetches(layer.digest)).toBe(2);
    } finally {
      proxy.throttle = 0;
      await r.restart(0);
    }
    expect(await pull(r.berths[0]!.url, 'library/cut', layer.digest)).toEqual({ status: 200, digest: layer.digest, length: layer.bytes.length });
    const v = await runCli(['verify', ...r.configArgs, '--root', r.berths[0]!.root]);
    const report = JSON.parse(v.stdout) as { blobsChecked: number; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.blobsChecked).toBeGreaterThan(0);
  }, 120_000);
});
