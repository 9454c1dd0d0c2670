/**
 * podman and buildah (root, vfs storage, private config) against a real `berth serve`: push, pull
 * back with the digest the push reported, and `manifest push --all` of a two-platform list.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, containersEnv, requireTool, sh, which } from '../helpers/tools.js';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('podman and buildah', () => {
  let berth: Berth;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let podman: string;
  let buildah: string;
  let skopeo: string;
  let mkoci: string;
  const p = (...a: string[]) => sh(podman, a, { env });
  const b = (...a: string[]) => sh(buildah, a, { env });
  const raw = (ref: string) => sh(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);

  beforeAll(async () => {
    podman = await which('podman', 'apt-get install -y podman (.ci/run does)');
    buildah = await which('buildah', 'apt-get install -y buildah (.ci/run does)');
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    // podman names an oci: image after its path, and names must be lowercase: no mkdtemp here.
    work = join(tmpdir(), `berth-podman-${randomBytes(6).toString('hex')}`);
    await mkdir(work);
    berth = await spawnBerth();
    env = await containersEnv(work, [berth.host]);
  });
  afterAll(async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('podman pushes an image, and pulls back the manifest the push reported', async () => {
    const src = join(work, 'src');
    await sh('bash', [mkoci, 'image', src, '200', '100']);
    const id = (await p('pull', '-q', `oci:${src}:latest`)).trim();
    const ref = `${berth.host}/podman/img:v1`;
    const digestFile = join(work, 'podman.digest');
    await p('push', '--digestfile', digestFile, id, `docker://${ref}`);
    const pushed = (await readFile(digestFile, 'utf8')).trim();
    expect(sha(await raw(ref))).toBe(pushed);
    await p('rmi', '-a', '-f');
    await p('pull', '-q', ref);
    expect((await p('inspect', '--format', '{{.Digest}}', ref)).trim()).toBe(pushed);
    const tags = await p('search', '--list-tags', '--tls-verify=false', `${berth.host}/podman/img`);
    expect(tags).toMatch(/v1/);
  });

  it('buildah builds from scratch, pushes, and pulls back the same digest', async () => {
    const data = join(work, 'data.bin');
    await writeFile(data, createHash('sha512').update(String(Date.now())).digest());
    const c = (await b('from', 'scratch')).trim();
    await b('copy', c, data, '/data.bin');
    await b('config', '--cmd', '/data.bin', c);
    const ref = `${berth.host}/buildah/img:v1`;
    await b('commit', '-q', c, ref);
    const digestFile = join(work, 'buildah.digest');
    await b('push', '--tls-verify=false', '--digestfile', digestFile, ref);
    const pushed = (await readFile(digestFile, 'utf8')).trim();
    expect(sha(await raw(ref))).toBe(pushed);
    await b('rmi', '-a', '-f');
    await b('pull', '-q', '--tls-verify=false', ref);
    expect((await b('inspect', '--format', '{{.FromImageDigest}}', ref)).trim()).toBe(pushed);
  });

  it('podman manifest push --all stores an index and both platform manifests', async () => {
    const list = `${berth.host}/podman/list:v1`;
    await p('manifest', 'create', list);
    await p('manifest', 'add', '--tls-verify=false', '--arch', 'amd64', list, `docker://${berth.host}/podman/img:v1`);
    await p('manifest', 'add', '--tls-verify=false', '--arch', 'arm64', list, `docker://${berth.host}/buildah/img:v1`);
    await p('manifest', 'push', '--all', '--tls-verify=false', list, `docker://${list}`);
    const index = JSON.parse(await raw(list)) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    for (const m of index.manifests) expect(sha(await raw(`${berth.host}/podman/list@${m.digest}`))).toBe(m.digest);
  });

  it('buildah manifest push --all works the same', async () => {
    const list = `${berth.host}/buildah/list:v1`;
    await b('manifest', 'create', list);
    await b('manifest', 'add', '--tls-verify=false', '--arch', 'arm64', list, `docker://${berth.host}/buildah/img:v1`);
    await b('manifest', 'push', '--all', '--tls-verify=false', list, `docker://${list}`);
    const index = JSON.parse(await raw(list)) as { manifests: { digest: string }[] };
    expect(index.manifests).toHaveLength(1);
    expect(sha(await raw(`${berth.host}/buildah/list@${index.manifests[0]!.digest}`))).toBe(index.manifests[0]!.digest);
  });
});
