/**
 * berth with its blobs in S3 when the store is not usable: at start it exits naming the store and the
 * cause (refused, no such bucket, wrong credentials), and `berth config check` says the same; while
 * serving, what needs the store answers 503 with the spec's envelope within seconds, manifests (in
 * the index) are still served, /readyz fails, and berth recovers by itself when the store returns.
 * The store that goes away is this test's own Ceph (its gateway is killed and restarted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { freePort, runCli, readyAgain, spawnBerth, type Berth } from '../helpers/spawn.js';
import { S3_BUCKET, S3_CREDENTIALS, runS3, startCeph, type Ceph } from '../helpers/ceph.js';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { testDir, testDirPersistent } from '../helpers/tmp.js';

const yaml = (s3: Record<string, string | boolean>) => `storage: {driver: s3, s3: ${JSON.stringify(s3)}}\n`;

describe('berth on S3, when the store cannot be used at start', () => {
  it('exits with the store and the cause: refused, no such bucket, wrong credentials', async () => {
    const endpoint = runS3();
    const refused = `http://127.0.0.1:${await freePort()}`;
    const cases: [Record<string, string | boolean>, RegExp][] = [
      [{ endpoint: refused, bucket: S3_BUCKET, ...S3_CREDENTIALS }, new RegExp(`S3 at ${refused.replaceAll('.', '\\.')}/${S3_BUCKET}: .*ECONNREFUSED`)],
      [{ endpoint, bucket: 'no-such-bucket', ...S3_CREDENTIALS }, /S3 at http:\/\/127\.0\.0\.1:\d+\/no-such-bucket: no such bucket/],
      [{ endpoint, bucket: S3_BUCKET, accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' }, /S3 at http:\/\/127\.0\.0\.1:\d+\/berth-test: access denied/],
    ];
    for (const [s3, message] of cases) {
      const dir = await testDir('berth-s3-start-');
      await writeFile(join(dir, 'berth.yaml'), yaml(s3));
      const t0 = Date.now();
      await expect(spawnBerth({ root: dir, args: ['--config', join(dir, 'berth.yaml')] })).rejects.toThrow(message);
      expect(Date.now() - t0).toBeLessThan(12_000);
      const check = await runCli(['config', 'check', join(dir, 'berth.yaml')]);
      expect(check.code).toBe(1);
      expect(check.stderr).toMatch(message);
    }
    const dir = await testDir('berth-s3-check-');
    await writeFile(join(dir, 'ok.yaml'), yaml({ endpoint, bucket: S3_BUCKET, ...S3_CREDENTIALS }));
    const ok = await runCli(['config', 'check', join(dir, 'ok.yaml')]);
    expect(ok.stdout, ok.stderr).toMatch(/storage: S3 at http:\/\/127\.0\.0\.1:\d+\/berth-test answers\n.*ok/);
  });
});

describe('berth on S3, when the store goes away while serving', () => {
  let ceph: Ceph;
  let berth: Berth;
  beforeAll(async () => {
    ceph = await startCeph();
    const client = new S3Client({ endpoint: ceph.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3_CREDENTIALS } });
    await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET }));
    client.destroy();
    const dir = await testDirPersistent('berth-s3-lost-');
    await writeFile(join(dir, 'berth.yaml'), yaml({ endpoint: ceph.endpoint, bucket: S3_BUCKET, ...S3_CREDENTIALS, connectTimeout: '2s', requestTimeout: '3s' }));
    berth = await spawnBerth({ root: dir, args: ['--config', join(dir, 'berth.yaml')] });
  }, 120_000);
  afterAll(async () => {
    await berth?.stop();
    await ceph?.stop();
  });

  it('answers 503 with the error envelope, keeps serving manifests, and recovers when the store returns', async () => {
    const config = blob(100);
    const layer = blob(5000);
    for (const b of [config, layer]) {
      expect((await fetch(`${berth.url}/v2/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes })).status).toBe(201);
    }
    const m = imageManifest(config, [layer]);
    expect((await fetch(`${berth.url}/v2/app/manifests/v1`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);

    await ceph.stopGateway();
    const t0 = Date.now();
    const get = await fetch(`${berth.url}/v2/app/blobs/${layer.digest}`);
    expect(get.status).toBe(503);
    expect(get.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await get.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('UNAVAILABLE');
    expect(body.errors[0]!.message).toMatch(/object store unavailable/);
    expect(Date.now() - t0).toBeLessThan(8_000);
    const other = blob(300);
    expect((await fetch(`${berth.url}/v2/app/blobs/uploads/?digest=${other.digest}`, { method: 'POST', body: other.bytes })).status).toBe(503);
    expect((await fetch(`${berth.url}/readyz`)).status).toBe(503);
    const manifest = await fetch(`${berth.url}/v2/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expect(manifest.status).toBe(200);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(m.bytes)).toBe(true);

    await ceph.startGateway();
    await readyAgain(berth.url);
    const again = await fetch(`${berth.url}/v2/app/blobs/${layer.digest}`);
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(layer.bytes)).toBe(true);
    expect((await fetch(`${berth.url}/v2/app/blobs/uploads/?digest=${other.digest}`, { method: 'POST', body: other.bytes })).status).toBe(201);
  }, 120_000);
});
