/**
 * The kubelet's own path to an image, with nothing on the node but what berth ships: containerd with
 * its CRI plugin on is asked over its gRPC socket for ImageService/PullImage exactly as the kubelet
 * asks (the pod's image as its author wrote it, `quay.io/kairos/core:v1`, and the AuthConfig that
 * `berth credential-provider` answered), and pulls it through the hosts.toml that `berth
 * mirror-config` wrote, from a berth that refuses anonymous pulls and fills the image from a second
 * berth serving as upstream quay.io. ListImages and ImageStatus then show it with the source's digest.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { seedUpstream, startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { startContainerd } from '../helpers/containerd.js';
import { criImageService, type CriAuth, type ImageService } from '../helpers/cri.js';
import { which } from '../helpers/tools.js';

/** `berth credential-provider` run as the kubelet runs it; the auth it answers for `image`'s host. */
function credentialFor(config: string, image: string): Promise<CriAuth> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, ['credential-provider', '--config', config]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`credential-provider exited ${code}: ${err}`));
      const res = JSON.parse(out) as { auth: Record<string, CriAuth> };
      resolve(res.auth[image.split('/')[0]!]!);
    });
    child.stdin.end(JSON.stringify({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image }));
  });
}

describe('the kubelet pull path: CRI PullImage through mirror-config and the credential provider', () => {
  let up: Upstream;
  let berth: Berth;
  let work: string;
  let daemon: Awaited<ReturnType<typeof startContainerd>> | undefined;
  let cri: ImageService | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-cri-'));
    up = await startUpstream();
    const htpasswd = join(work, 'htpasswd');
    await writeFile(htpasswd, `node-bootstrap:${bcrypt.hashSync('bootstrap-pw', 4)}\n`);
    const config = {
      http: { auth: { htpasswd: { path: htpasswd } } },
      accessControl: { repositories: { '**': { policies: [{ users: ['node-bootstrap'], actions: ['read'] }], anonymousPolicy: [] } } },
      mirror: { upstreams: [{ host: 'quay.io', url: up.url, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }] },
    };
    await writeFile(join(work, 'berth.yaml'), `${JSON.stringify(config)}\n`);
    berth = await spawnBerth({ args: ['--config', join(work, 'berth.yaml')] });
  }, 60_000);
  afterAll(async () => {
    cri?.close();
    await daemon?.stop();
    await berth?.stop();
    await up?.close().catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls quay.io/kairos/core:v1 from berth with the credential the provider minted, and lists it', async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    // the source image in the upstream, as kairos/core:v1
    const digest = await seedUpstream(up, join(work, 'src'), 'kairos/core:v1');

    // the node: hosts.toml for quay.io naming berth (air-gapped: no fallback to quay.io itself) ...
    const certs = join(work, 'certs.d');
    await mkdir(certs);
    const written = await runCli(['mirror-config', '--registry', berth.host, '--upstream', 'quay.io', '--no-fallback', '-o', certs]);
    expect(written.code, written.out).toBe(0);
    // ... the credential provider's configuration and the bootstrap credential ...
    await writeFile(join(work, 'bootstrap.password'), 'bootstrap-pw\n');
    const providerConfig = join(work, 'credential-provider.yaml');
    await writeFile(providerConfig, `registries: ["${berth.host}"]\nmirrored: [quay.io]\nusername: node-bootstrap\npasswordFile: ${join(work, 'bootstrap.password')}\ncacheDuration: 1h\nmint: {url: "${berth.url}"}\n`);
    // ... and containerd with its CRI image service
    daemon = await startContainerd(containerd, join(work, 'ctr'), { certsDir: certs });
    cri = criImageService(daemon.sock);

    const image = 'quay.io/kairos/core:v1';
    // berth refuses anonymous pulls: without the kubelet's credential the pull fails
    const anonymous = await cri.pullImage(image).then(() => 'pulled', (err: Error) => err.message);
    expect(anonymous).toMatch(/401|unauthorized/i);
    expect(await cri.imageStatus(image)).toBeUndefined();

    const auth = await credentialFor(providerConfig, image);
    expect(auth.password).toMatch(/^berth-pull\.v1\./);
    const ref = await cri.pullImage(image, auth).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${daemon!.log().slice(-3000)}`)));
    expect(ref).toMatch(/^sha256:[0-9a-f]{64}$/);

    const listed = (await cri.listImages()).find((i) => i.repoTags.includes(image));
    expect(listed).toBeDefined();
    expect(listed!.id).toBe(ref);
    expect(listed!.repoDigests).toContain(`quay.io/kairos/core@${digest}`);
    const status = await cri.imageStatus(image);
    expect(status?.id).toBe(ref);
    expect(status?.repoDigests).toContain(`quay.io/kairos/core@${digest}`);
    expect(Number(status?.size)).toBeGreaterThan(0);
    // every byte came through berth, which filled it from the upstream once: it has the image now
    const head = await fetch(`${berth.url}/v2/quay.io/kairos/core/manifests/v1`, { method: 'HEAD', headers: { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect([head.status, head.headers.get('docker-content-digest')]).toEqual([200, digest]);
  }, 240_000);
});
