/**
 * `berth migrate`: a registry on the default engines (a root with files and LevelDB), filled by a
 * real `berth serve`, is copied into S3 (the run's Ceph RGW) and PostgreSQL; the target then passes
 * `berth verify` and serves the same manifests, tags, blobs and referrers; run again, the copy finds
 * everything in place, and a blob lost from the target comes back.
 */
import bcrypt from 'bcryptjs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth } from '../helpers/spawn.js';
import { engineConfig } from '../helpers/engines.js';
import { blob, desc, imageManifest, OCI_MANIFEST, pushImage, type Manifest } from '../helpers/oci.js';
import type { Requester, Resp } from '../helpers/registry.js';
import { testDir } from '../helpers/tmp.js';
import { S3Bucket } from '../../src/storage/s3/bucket.js';
import { S3Keys } from '../../src/storage/s3/keys.js';
import { parseDigest } from '../../src/oci/digest.js';

function requester(base: string): Requester {
  return async (method, path, o = {}) => {
    const r = await fetch(base + path, { method, headers: o.headers, body: o.body });
    const headers: Record<string, string> = {};
    r.headers.forEach((v, k) => (headers[k] = v));
    const body = Buffer.from(await r.arrayBuffer());
    return { status: r.status, headers, body, json: () => JSON.parse(body.toString('utf8')) } as Resp;
  };
}

describe('berth migrate', () => {
  it('copies a registry from files and LevelDB into S3 and PostgreSQL, verified, and continues when run again', async () => {
    const dir = await testDir('berth-migrate-');
    const root = join(dir, 'source');
    const source = await spawnBerth({ root });
    const req = requester(source.url);
    const images: { repo: string; tag: string; manifest: Manifest; blobs: { digest: string; bytes: Buffer }[] }[] = [];
    for (const [repo, tag] of [['team/app', 'v1'], ['team/app', 'v2'], ['base/os', 'latest']] as const) {
      const { config, layers, manifest } = await pushImage(req, repo, tag, { layers: 2 });
      images.push({ repo, tag, manifest, blobs: [config, ...layers] });
    }
    // a signature-like artifact whose subject is team/app:v1 (listed by the referrers API)
    const sigConfig = blob(20);
    await req('POST', `/v2/team/app/blobs/uploads/?digest=${sigConfig.digest}`, { body: sigConfig.bytes });
    const sig = imageManifest(sigConfig, [], { artifactType: 'application/vnd.example.sig', subject: desc(OCI_MANIFEST, images[0]!.manifest) });
    expect((await req('PUT', `/v2/team/app/manifests/${sig.digest}`, { headers: { 'content-type': OCI_MANIFEST }, body: sig.bytes })).status).toBe(201);
    await source.stop();

    const from = join(dir, 'from.yaml');
    const to = join(dir, 'to.yaml');
    await writeFile(from, `storage: {root: ${JSON.stringify(root)}}\n`);
    const target = await engineConfig('s3+postgres');
    await writeFile(to, `${JSON.stringify({ storage: { ...target.storage, root: join(dir, 'target-scratch') }, metadata: target.metadata })}\n`);

    // an imported bundle's record goes along (the bundle: team/app:v1 exported and imported again)
    const bundle = join(dir, 'app.tar');
    expect((await runCli(['export', 'team/app:v1', '--name', 'app', '--version', '1', '-o', bundle, '--root', root])).code).toBe(0);
    const imported = await runCli(['import', bundle, '--root', root]);
    expect(imported.code, imported.out).toBe(0);
    const record = (JSON.parse((await runCli(['bundles', 'list', '--root', root])).stdout) as { bundles: object[] }).bundles;
    expect(record).toHaveLength(1);

    // a robot account in the source (made on the stopped root): it goes along, revoked as it was
    await writeFile(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
    const auth = { http: { auth: { htpasswd: { path: join(dir, 'htpasswd') } } } };
    const fromAuth = join(dir, 'from-auth.yaml');
    await writeFile(fromAuth, `${JSON.stringify({ ...auth, storage: { root } })}\n`);
    for (const name of ['ci', 'old']) expect((await runCli(['token', 'create', '--config', fromAuth, '--name', name, '--owner', 'alice', '--scope', 'team/**:pull'])).code).toBe(0);
    expect((await runCli(['token', 'revoke', '--config', fromAuth, 'old'])).code).toBe(0);

    const first = await runCli(['migrate', '--from', from, '--to', to]);
    expect(first.code, first.out).toBe(0);
    const report = JSON.parse(first.stdout) as { blobsCopied: number; blobsPresent: number; manifests: number; tags: number; repositories: number; problems: string[] };
    // 10 blobs, and the bundle's manifest, which its import stored as a blob file too (linked nowhere)
    expect(report).toMatchObject({ blobsCopied: 11, blobsPresent: 0, manifests: 4, tags: 3, repositories: 2, robots: 2, bundles: 1, problems: [] });
    const toAuth = join(dir, 'to-auth.yaml');
    await writeFile(toAuth, `${JSON.stringify({ ...auth, storage: { ...target.storage, root: join(dir, 'target-scratch') }, metadata: target.metadata })}\n`);
    const robots = JSON.parse((await runCli(['token', 'list', '--config', toAuth])).stdout) as { robots: { name: string; revokedAt?: number }[] };
    expect(robots.robots.map((r) => [r.name, r.revokedAt === undefined])).toEqual([['ci', true], ['old', false]]);
    expect((JSON.parse((await runCli(['bundles', 'list', '--config', to])).stdout) as { bundles: object[] }).bundles).toEqual(record);

    const verify = await runCli(['verify', '--config', to]);
    expect(verify.code, verify.out).toBe(0);

    // run again: everything is there; a blob lost from the target is copied again
    const s3 = target.storage!.s3!;
    const bucket = new S3Bucket({ endpoint: s3.endpoint!, region: 'us-east-1', bucket: s3.bucket!, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId!, secretAccessKey: s3.secretAccessKey! }, connectTimeoutMs: 3000, requestTimeoutMs: 30_000 });
    await bucket.delete(new S3Keys(s3.prefix!).blob(parseDigest(images[2]!.blobs[1]!.digest)));
    bucket.destroy();
    const second = await runCli(['migrate', '--from', from, '--to', to]);
    expect(second.code, second.out).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ blobsCopied: 1, blobsPresent: 10, problems: [] });

    const served = await spawnBerth({ root: join(dir, 'target-scratch'), args: ['--config', to] });
    try {
      const get = requester(served.url);
      for (const img of images) {
        const m = await get('GET', `/v2/${img.repo}/manifests/${img.tag}`, { headers: { accept: OCI_MANIFEST } });
        expect(m.status).toBe(200);
        expect(m.body.equals(img.manifest.bytes)).toBe(true);
        for (const b of img.blobs) expect((await get('GET', `/v2/${img.repo}/blobs/${b.digest}`)).body.equals(b.bytes)).toBe(true);
      }
      expect((await get('GET', '/v2/team/app/tags/list')).json()).toEqual({ name: 'team/app', tags: ['v1', 'v2'] });
      expect((await get('GET', '/v2/_catalog')).json()).toEqual({ repositories: ['base/os', 'team/app'] });
      const referrers = (await get('GET', `/v2/team/app/referrers/${images[0]!.manifest.digest}`)).json<{ manifests: { digest: string; artifactType: string }[] }>();
      expect(referrers.manifests).toEqual([expect.objectContaining({ digest: sig.digest, artifactType: 'application/vnd.example.sig' })]);
    } finally {
      await served.stop();
    }
  }, 120_000);
});
