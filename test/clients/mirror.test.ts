/**
 * berth as the pull-through mirror of two upstreams at once (issue 7), driven by real clients:
 * docker.io is an upstream berth in token mode, quay.io is Debian's docker-registry with htpasswd.
 * containerd pulls both through hosts.toml files written by `berth mirror-config` (it adds ?ns=),
 * skopeo uses path mode, and both keep pulling from the cache once the upstreams are stopped.
 * skopeo also makes the docker-archive and oci-archive bundles that `berth import` loads.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { pruneContent, startContainerd } from '../helpers/containerd.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';
import { sha256 } from '../helpers/oci.js';

type Layout = { manifests: { digest: string }[] };
const layoutDigest = async (dir: string) => (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
const CREDS = `${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`;

describe('berth as a mirror of docker.io and quay.io (ctr, skopeo)', () => {
  let work: string;
  let up: Upstream;
  let quay: Distribution;
  let mirror: Berth;
  let daemon: { stop(): Promise<void> } | undefined;
  let sock: string;
  let ctrBin: string;
  let skopeo: string;
  let mkoci: string;
  let hostsDir: string;
  let upStopped = false;
  const want: Record<string, string> = {};
  const ctr = (...a: string[]) => sh(ctrBin, ['-a', sock, '-n', 'berth-mirror', ...a], { timeout: 180_000 });
  const imageDigest = async (ref: string) => {
    const line = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${ref} `));
    expect(line, `${ref} is not in ctr images ls`).toBeDefined();
    return /sha256:[0-9a-f]{64}/.exec(line!)![0];
  };
  const pull = async (ref: string) => {
    const started = Date.now();
    await ctr('images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', ref);
    return Date.now() - started;
  };

  beforeAll(async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-mirror-clients-'));
    const d = await startContainerd(containerd, join(work, 'ctd'));
    sock = d.sock;
    daemon = d;
    up = await startUpstream();
    quay = await startDistribution(join(work, 'quay'), { user: UPSTREAM_USER, password: UPSTREAM_PASSWORD });
    // docker.io/library/alpine:3.20 (a two-platform index) and quay.io/kairos/core:v1 (one image)
    await sh('bash', [mkoci, 'multi', join(work, 'alpine'), '64']);
    await sh('bash', [mkoci, 'image', join(work, 'core'), '256', '64']);
    want.alpine = await layoutDigest(join(work, 'alpine'));
    want.core = await layoutDigest(join(work, 'core'));
    await sh(skopeo, ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', CREDS, `oci:${join(work, 'alpine')}:latest`, `docker://${new URL(up.url).host}/library/alpine:3.20`]);
    await sh(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', CREDS, `oci:${join(work, 'core')}:latest`, `docker://${quay.host}/kairos/core:v1`]);
    const config = join(work, 'mirror.yaml');
    await writeFile(
      config,
      [
        'mirror:',
        '  prefix: spectro-images',
        '  tagTTL: 0s',
        '  upstreams:',
        `    - {host: docker.io, url: "${up.url}", username: ${UPSTREAM_USER}, password: ${UPSTREAM_PASSWORD}}`,
        `    - {host: quay.io, url: "${quay.url}", username: ${UPSTREAM_USER}, password: ${UPSTREAM_PASSWORD}}`,
      ].join('\n'),
    );
    mirror = await spawnBerth({ args: ['--config', config] });
    hostsDir = join(work, 'certs.d');
    const mc = await runCli(['mirror-config', '--registry', mirror.host, '--upstream', 'docker.io', 'quay.io', '-o', hostsDir]);
    expect(mc.code, mc.out).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await mirror?.stop();
    await quay?.stop();
    if (!upStopped) await up?.close();
    await daemon?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('writes hosts.toml files that name berth as a pull/resolve mirror', async () => {
    const toml = await readFile(join(hostsDir, 'quay.io', 'hosts.toml'), 'utf8');
    expect(toml).toContain('server = "https://quay.io"');
    expect(toml).toContain(`[host."http://${mirror.host}"]`);
    expect(toml).toContain('capabilities = ["pull", "resolve"]');
    expect(await readFile(join(hostsDir, 'docker.io', 'hosts.toml'), 'utf8')).toContain('server = "https://registry-1.docker.io"');
  });

  it('containerd pulls docker.io/... and quay.io/... through one berth (?ns=), fetched from each upstream', async () => {
    await pull('docker.io/library/alpine:3.20');
    expect(await imageDigest('docker.io/library/alpine:3.20')).toBe(want.alpine);
    await pull('quay.io/kairos/core:v1');
    expect(await imageDigest('quay.io/kairos/core:v1')).toBe(want.core);
    await mirror.logMatching(/"url":"\/v2\/kairos\/core\/blobs\/sha256:[0-9a-f]{64}\?ns=quay.io","status":200/);
    expect(mirror.log()).toMatch(/"url":"\/v2\/library\/alpine\/manifests\/3.20\?ns=docker.io","status":200/);
    expect(mirror.log()).toMatch(/"url":"\/v2\/kairos\/core\/blobs\/sha256:[0-9a-f]{64}\?ns=quay.io","status":200/);
    // quay.io's content really came from docker-registry, with Basic auth
    expect(quay.log()).toMatch(/GET \/v2\/kairos\/core\/blobs\/sha256:[0-9a-f]{64} HTTP\/1.1" 200/);
    expect(mirror.log()).not.toContain(UPSTREAM_PASSWORD);
  });

  it('skopeo reads the same content in path mode (<prefix>/<host>/<repo>)', async () => {
    const raw = await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${mirror.host}/spectro-images/quay.io/kairos/core:v1`]);
    expect(sha256(Buffer.from(raw))).toBe(want.core);
    await sh(skopeo, ['copy', '--all', '--src-tls-verify=false', `docker://${mirror.host}/spectro-images/docker.io/library/alpine:3.20`, `oci:${join(work, 'back')}:x`]);
    expect(await layoutDigest(join(work, 'back'))).toBe(want.alpine);
  });

  it('imports docker-archive and oci-archive bundles made by skopeo into the running mirror', async () => {
    const dockerTar = join(work, 'docker.tar');
    const ociTar = join(work, 'oci.tar');
    await sh(skopeo, ['copy', `oci:${join(work, 'core')}:latest`, `docker-archive:${dockerTar}:registry.example:5000/team/tool:2.1`]);
    await sh(skopeo, ['copy', `oci:${join(work, 'core')}:latest`, `oci-archive:${ociTar}:quay.io/kairos/agent:v3`]);
    const config = join(work, 'cli.yaml');
    await writeFile(config, `http:\n  listen: ${mirror.host}\nmirror:\n  prefix: spectro-images\n`);
    for (const file of [dockerTar, ociTar]) {
      const r = await runCli(['import', file, '--config', config, '--root', mirror.root]);
      expect(r.code, r.out).toBe(0);
    }
    // docker save layers are stored as they are (uncompressed OCI layers): the config is the same
    const cfg = JSON.parse(await sh(skopeo, ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${mirror.host}/spectro-images/registry.example_5000/team/tool:2.1`]));
    const src = JSON.parse(await sh(skopeo, ['inspect', '--config', '--raw', `oci:${join(work, 'core')}:latest`]));
    expect(cfg.rootfs.diff_ids).toEqual(src.rootfs.diff_ids);
    const raw = await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${mirror.host}/spectro-images/quay.io/kairos/agent:v3`]);
    expect(sha256(Buffer.from(raw))).toBe(want.core);
    // and containerd finds the imported image through the mirror without any upstream having it
    await pull('quay.io/kairos/agent:v3');
    expect(await imageDigest('quay.io/kairos/agent:v3')).toBe(want.core);
  });

  it('keeps serving both after the upstreams are stopped, without waiting on them', async () => {
    await up.close();
    upStopped = true;
    await quay.stop();
    for (const ref of ['docker.io/library/alpine:3.20', 'quay.io/kairos/core:v1']) await ctr('images', 'rm', ref);
    await pruneContent(ctr);
    const times: Record<string, number> = {};
    for (const ref of ['docker.io/library/alpine:3.20', 'quay.io/kairos/core:v1']) times[ref] = await pull(ref);
    expect(await imageDigest('docker.io/library/alpine:3.20')).toBe(want.alpine);
    expect(await imageDigest('quay.io/kairos/core:v1')).toBe(want.core);
    const skopeoStarted = Date.now();
    await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${mirror.host}/spectro-images/quay.io/kairos/core:v1`]);
    const skopeoMs = Date.now() - skopeoStarted;
    console.log(`upstreams stopped: ctr pulls ${JSON.stringify(times)} ms, skopeo inspect ${skopeoMs} ms`);
    for (const ms of Object.values(times)) expect(ms).toBeLessThan(5000);
  });
});
