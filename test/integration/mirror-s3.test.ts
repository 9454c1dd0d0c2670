/**
 * The pull-through mirror with its blobs in S3 (the run's Ceph RGW) and its metadata in PostgreSQL:
 * a spawned `berth serve` mirrors an upstream berth; concurrent pulls of a blob it does not hold wait
 * for the fetch that stores it (S3 cannot be read while an object is written), every byte checks
 * out, and once the upstream is gone the blobs come from the bucket.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { OCI_MANIFEST, pushImage, sha256 } from '../helpers/oci.js';
import { engineConfig } from '../helpers/engines.js';

describe('pull-through mirror on S3 + PostgreSQL', () => {
  let up: Upstream;
  let mirror: Berth;
  let image: Awaited<ReturnType<typeof pushImage>>;

  beforeAll(async () => {
    up = await startUpstream();
    image = await pushImage(await up.as('library/nginx'), 'library/nginx', '1.27', { layers: 3 });
    const dir = await testDirPersistent('berth-mirror-s3-');
    const file = join(dir, 'mirror.yaml');
    const engines = await engineConfig('s3+postgres');
    const config = { ...engines, mirror: { tagTTL: '0s', upstreams: [{ host: 'docker.io', url: up.url, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }] } };
    await writeFile(file, `${JSON.stringify(config)}\n`);
    mirror = await spawnBerth({ args: ['--config', file] });
  });
  afterAll(async () => {
    await mirror?.stop();
    await up?.close().catch(() => undefined);
  });

  it('serves concurrent pulls of blobs it is fetching, stores them in S3, and serves them from there after', async () => {
    const m = await fetch(`${mirror.url}/v2/library/nginx/manifests/1.27?ns=docker.io`, { headers: { accept: OCI_MANIFEST } });
    expect(m.status).toBe(200);
    expect(Buffer.from(await m.arrayBuffer()).equals(image.manifest.bytes)).toBe(true);
    for (const b of [image.config, ...image.layers]) {
      const pulls = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const r = await fetch(`${mirror.url}/v2/library/nginx/blobs/${b.digest}?ns=docker.io`);
          return { status: r.status, digest: sha256(Buffer.from(await r.arrayBuffer())) };
        }),
      );
      expect(pulls).toEqual(Array.from({ length: 4 }, () => ({ status: 200, digest: b.digest })));
    }
    // the upstream gone: the blobs come from the bucket
    await up.close();
    for (const b of [image.config, ...image.layers]) {
      const r = await fetch(`${mirror.url}/v2/library/nginx/blobs/${b.digest}?ns=docker.io`);
      expect(r.status).toBe(200);
      expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(b.digest);
    }
  });
});
