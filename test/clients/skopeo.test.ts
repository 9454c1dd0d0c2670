/**
 * skopeo against a real `berth serve`: images built offline with ../shared/tools/mkoci.sh go in and
 * come back out with identical manifest digests.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';

type Layout = { manifests: { digest: string; mediaType: string }[] };
const layoutDigest = async (dir: string) => (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('skopeo round trips', () => {
  let berth: Berth;
  let work: string;
  let skopeo: string;
  let mkoci: string;
  const tls = ['--dest-tls-verify=false', '--src-tls-verify=false'];

  beforeAll(async () => {
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
    berth = await spawnBerth();
  });
  afterAll(async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('copies a three-layer image in and back out with the same manifest digest', async () => {
    const src = join(work, 'img');
    await sh('bash', [mkoci, 'image', src, '512', '1024', '64']);
    const want = await layoutDigest(src);
    const ref = `docker://${berth.host}/spectro-images/img:v1`;
    await sh(skopeo, ['copy', ...tls, `oci:${src}:latest`, ref]);
    const raw = await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(sha(raw)).toBe(want);
    const out = join(work, 'img-out');
    await sh(skopeo, ['copy', ...tls, ref, `oci:${out}:v1`]);
    expect(await layoutDigest(out)).toBe(want);
    const tags = JSON.parse(await sh(skopeo, ['list-tags', '--tls-verify=false', `docker://${berth.host}/spectro-images/img`]));
    expect(tags.Tags).toEqual(['v1']);
  });

  it('copies a two-platform index with --all in and back out with the same digests', async () => {
    const src = join(work, 'multi');
    await sh('bash', [mkoci, 'multi', src, '256']);
    const want = await layoutDigest(src);
    const ref = `docker://${berth.host}/spectro-images/multi:v1`;
    await sh(skopeo, ['copy', '--all', ...tls, `oci:${src}:latest`, ref]);
    const raw = await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', ref]);
    expect(sha(raw)).toBe(want);
    const children = (JSON.parse(raw) as Layout).manifests;
    expect(children).toHaveLength(2);
    const out = join(work, 'multi-out');
    await sh(skopeo, ['copy', '--all', ...tls, ref, `oci:${out}:v1`]);
    expect(await layoutDigest(out)).toBe(want);
    for (const c of children) {
      const bytes = await readFile(join(out, 'blobs', 'sha256', c.digest.slice(7)));
      expect(sha(bytes)).toBe(c.digest);
    }
  });

  it('copies from oci-archive: and dir: sources with the same digest', async () => {
    const src = join(work, 'arch');
    await sh('bash', [mkoci, 'image', src, '96', '32']);
    const want = await layoutDigest(src);
    const archive = join(work, 'arch.tar');
    await sh('tar', ['-C', src, '-cf', archive, '.']);
    const fromArchive = `docker://${berth.host}/spectro-images/archive:v1`;
    await sh(skopeo, ['copy', ...tls, `oci-archive:${archive}:latest`, fromArchive]);
    expect(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', fromArchive]))).toBe(want);
    const dir = join(work, 'dir-src');
    await sh(skopeo, ['copy', `oci:${src}:latest`, `dir:${dir}`]);
    const fromDir = `docker://${berth.host}/spectro-images/fromdir:v1`;
    await sh(skopeo, ['copy', ...tls, `dir:${dir}`, fromDir]);
    expect(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', fromDir]))).toBe(want);
    const dirOut = join(work, 'dir-out');
    await sh(skopeo, ['copy', ...tls, fromDir, `dir:${dirOut}`]);
    expect(sha(await readFile(join(dirOut, 'manifest.json')))).toBe(want);
    const info = JSON.parse(await sh(skopeo, ['inspect', '--tls-verify=false', fromDir])) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(want);
    expect(info.Layers).toHaveLength(2);
  });

  it('syncs a repository out to a directory and back in, and registry to registry', async () => {
    const src = join(work, 'syncsrc');
    await sh('bash', [mkoci, 'image', src, '64']);
    const want = await layoutDigest(src);
    await sh(skopeo, ['copy', ...tls, `oci:${src}:latest`, `docker://${berth.host}/sync/app:v1`]);
    await sh(skopeo, ['copy', ...tls, `oci:${src}:latest`, `docker://${berth.host}/sync/app:v2`]);
    const out = join(work, 'sync-out');
    await sh(skopeo, ['sync', '--src-tls-verify=false', '--src', 'docker', '--dest', 'dir', `${berth.host}/sync/app`, out]);
    expect(sha(await readFile(join(out, 'app:v1', 'manifest.json')))).toBe(want);
    await sh(skopeo, ['sync', '--dest-tls-verify=false', '--src', 'dir', '--dest', 'docker', join(out, 'app:v2'), `${berth.host}/synced`]);
    expect(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${berth.host}/synced/app:v2`]))).toBe(want);
    await sh(skopeo, ['sync', ...tls, '--src', 'docker', '--dest', 'docker', `${berth.host}/sync/app`, `${berth.host}/mirror`]);
    const tags = JSON.parse(await sh(skopeo, ['list-tags', '--tls-verify=false', `docker://${berth.host}/mirror/app`])) as { Tags: string[] };
    expect(tags.Tags).toEqual(['v1', 'v2']);
  });

  it('pushes Docker schema 2 (--format v2s2), copies within berth by mount, and deletes', async () => {
    const src = join(work, 'docker');
    await sh('bash', [mkoci, 'image', src, '128']);
    const a = `docker://${berth.host}/team/docker:v1`;
    await sh(skopeo, ['copy', '--format', 'v2s2', ...tls, `oci:${src}:latest`, a]);
    const raw = JSON.parse(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', a])) as { mediaType: string };
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const b = `docker://${berth.host}/other/copy:v1`;
    await sh(skopeo, ['copy', ...tls, a, b]);
    expect(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', b]))).toBe(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', a])));
    await sh(skopeo, ['delete', '--tls-verify=false', b]);
    await expect(sh(skopeo, ['inspect', '--raw', '--tls-verify=false', b])).rejects.toThrow(/manifest unknown|not found/i);
  });
});
