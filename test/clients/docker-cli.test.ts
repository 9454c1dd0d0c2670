/** The docker CLI's daemonless commands against a real `berth serve` (there is no Docker engine here). */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';

type Layout = { manifests: { digest: string }[] };

describe('docker CLI (daemonless)', () => {
  let berth: Berth;
  let work: string;
  let docker: string;
  let skopeo: string;
  let mkoci: string;
  const d = (...a: string[]) => sh(docker, a, { env: { DOCKER_CONFIG: join(work, 'docker') } });

  beforeAll(async () => {
    docker = await which('docker', 'install the docker CLI (docker-ce-cli or docker.io)');
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-docker-'));
    berth = await spawnBerth();
  });
  afterAll(async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('manifest inspect shows an image index and its platforms', async () => {
    const src = join(work, 'multi');
    await sh('bash', [mkoci, 'multi', src, '32']);
    const ref = `${berth.host}/docker/multi:v1`;
    await sh(skopeo, ['copy', '--all', '--dest-tls-verify=false', `oci:${src}:latest`, `docker://${ref}`]);
    const index = JSON.parse(await d('manifest', 'inspect', '--insecure', ref)) as { manifests: { platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
  });

  it('manifest inspect -v reports the digest that was pushed', async () => {
    const src = join(work, 'img');
    await sh('bash', [mkoci, 'image', src, '32']);
    const want = (JSON.parse(await readFile(join(src, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
    const ref = `${berth.host}/docker/img:v1`;
    await sh(skopeo, ['copy', '--dest-tls-verify=false', `oci:${src}:latest`, `docker://${ref}`]);
    const out = JSON.parse(await d('manifest', 'inspect', '--insecure', '-v', ref)) as { Descriptor: { digest: string }; Raw?: string };
    expect(out.Descriptor.digest).toBe(want);
    if (out.Raw) expect(`sha256:${createHash('sha256').update(Buffer.from(out.Raw, 'base64')).digest('hex')}`).toBe(want);
  });
});
