/**
 * storage.immutableTags with real clients: crane, skopeo and podman pushes that would move a
 * protected tag fail and print berth's message; the tag still names the first manifest; pushing that
 * same manifest again succeeds (a CI job's retry).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, containersEnv, crane, requireTool, sh, which } from '../helpers/tools.js';

const MESSAGE = /tag v1 of rel\/\w+ is immutable \(storage\.immutableTags\): it stays at sha256:[0-9a-f]{64}; push under a new tag/;

describe('immutable tags, pushed by real clients', () => {
  let berth: Berth;
  let work: string;
  const images: { dir: string; digest: string }[] = [];

  beforeAll(async () => {
    const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    // podman names an oci: image after its path, and names must be lowercase: no mkdtemp here
    work = join(tmpdir(), `berth-immutable-${randomBytes(6).toString('hex')}`);
    await mkdir(work);
    await writeFile(join(work, 'berth.yaml'), 'storage:\n  immutableTags:\n    - {repositories: ["rel/**"], tags: ["v*"]}\n');
    berth = await spawnBerth({ args: ['--config', join(work, 'berth.yaml')] });
    for (const name of ['first', 'second']) {
      const dir = join(work, name);
      await sh('bash', [mkoci, 'image', dir, '128', '32']);
      images.push({ dir, digest: (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest });
    }
    expect(images[0]!.digest).not.toBe(images[1]!.digest);
  });
  afterAll(async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Pushes first, then second (refused, with berth's message), then first again; the tag stays at first. */
  async function check(repo: string, push: (dir: string, ref: string) => Promise<string>): Promise<void> {
    const [first, second] = images as [(typeof images)[0], (typeof images)[0]];
    const ref = `${berth.host}/${repo}:v1`;
    await push(first.dir, ref);
    const refused = await push(second.dir, ref).then(() => 'pushed', (err: Error) => err.message);
    expect(refused).toMatch(MESSAGE);
    await push(first.dir, ref);
    const head = await fetch(`${berth.url}/v2/${repo}/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(head.headers.get('docker-content-digest')).toBe(first.digest);
  }

  it('crane', async () => {
    const bin = await crane();
    await check('rel/crane', (dir, ref) => sh(bin, ['push', dir, ref, '--insecure'], { env: { DOCKER_CONFIG: join(work, 'docker') } }));
  });

  it('skopeo', async () => {
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    await check('rel/skopeo', (dir, ref) => sh(skopeo, ['copy', '--dest-tls-verify=false', `oci:${dir}:latest`, `docker://${ref}`]));
  });

  it('podman', async () => {
    const podman = await which('podman', 'apt-get install -y podman (.ci/run does)');
    const env = await containersEnv(work, [berth.host]);
    // podman pushes what it holds: each layout pulled in first, pushed as it is (no conversion)
    await check('rel/podman', async (dir, ref) => {
      const id = (await sh(podman, ['pull', '-q', `oci:${dir}:latest`], { env })).trim();
      return sh(podman, ['push', '--format', 'oci', id, `docker://${ref}`], { env });
    });
  });
});
