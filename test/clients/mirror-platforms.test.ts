/**
 * mirror.platforms with real clients: an upstream (a berth in token mode) holds a 3-platform index;
 * berth mirrors it with `platforms: [linux/amd64]` and mirror.sync, and stores the index as it is (the
 * digest clients resolve) with only the amd64 child and its blobs. With the upstream gone, containerd
 * pulls the image for linux/amd64 through berth (hosts.toml from berth mirror-config), and a pull of
 * another platform's child is a clean MANIFEST_UNKNOWN. The bytes stored are measured against the
 * full copy's.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { ctrOn, listedDigest, startContainerd, type Ctr } from '../helpers/containerd.js';
import { startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';
import { OCI_INDEX, sha256 } from '../helpers/oci.js';

type Desc = { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } };
const CREDS = `${UPSTREAM_USER}:${UPSTREAM_PASSWORD}`;

async function filesUnder(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    count++;
    bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return { count, bytes };
}

describe('mirror.platforms: only linux/amd64 of a 3-platform index (ctr)', () => {
  let work: string;
  let up: Upstream;
  let mirror: Berth;
  let daemon: { stop(): Promise<void> } | undefined;
  let ctr: Ctr;
  let index: { digest: string; children: Desc[] };
  /** Blobs of each child (config and layers), and their bytes. */
  const blobsOf = new Map<string, { digest: string; size: number }[]>();

  beforeAll(async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    const ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-mirror-platforms-'));
    const d = await startContainerd(containerd, join(work, 'ctd'));
    daemon = d;
    ctr = ctrOn(ctrBin, d.sock);
    up = await startUpstream();
    const upHost = new URL(up.url).host;
    // amd64 + arm64 (mkoci multi), and an arm/v7 image: one index of three platforms upstream
    await sh('bash', [mkoci, 'multi', join(work, 'multi'), '256']);
    await sh('bash', [mkoci, 'image', join(work, 'armv7'), '192']);
    await sh(skopeo, ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', CREDS, `oci:${join(work, 'multi')}:latest`, `docker://${upHost}/library/multi:two`]);
    await sh(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', CREDS, `oci:${join(work, 'armv7')}:latest`, `docker://${upHost}/library/multi:armv7`]);
    const blob = (dir: string, digest: string) => readFile(join(work, dir, 'blobs', 'sha256', digest.slice(7)));
    const two = JSON.parse(await readFile(join(work, 'multi', 'index.json'), 'utf8')).manifests[0].digest as string;
    const twoIndex = JSON.parse((await blob('multi', two)).toString()) as { manifests: Desc[] };
    const armDesc = JSON.parse(await readFile(join(work, 'armv7', 'index.json'), 'utf8')).manifests[0] as Desc;
    const children: Desc[] = [...twoIndex.manifests, { mediaType: armDesc.mediaType, digest: armDesc.digest, size: armDesc.size, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }];
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }));
    const req = await up.as('library/multi');
    expect((await req('PUT', '/v2/library/multi/manifests/v1', { headers: { 'content-type': OCI_INDEX }, body: bytes })).status).toBe(201);
    index = { digest: sha256(bytes), children };
    for (const [i, c] of children.entries()) {
      const m = JSON.parse((await blob(i < 2 ? 'multi' : 'armv7', c.digest)).toString()) as { config: Desc; layers: Desc[] };
      blobsOf.set(c.digest, [m.config, ...m.layers].map((x) => ({ digest: x.digest, size: x.size })));
    }

    const config = join(work, 'mirror.yaml');
    await writeFile(
      config,
      [
        'mirror:',
        '  platforms: [linux/amd64]',
        '  upstreams:',
        `    - {host: docker.io, url: "${up.url}", username: ${UPSTREAM_USER}, password: ${UPSTREAM_PASSWORD}}`,
        '  sync:',
        '    images: [{repository: docker.io/library/multi, tags: [v1]}]',
      ].join('\n'),
    );
    mirror = await spawnBerth({ args: ['--config', config] });
  }, 180_000);

  afterAll(async () => {
    await mirror?.stop();
    await up?.close().catch(() => undefined);
    await daemon?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('syncs the index as it is with only the amd64 child and its blobs', async () => {
    const amd = index.children.find((c) => c.platform?.architecture === 'amd64')!;
    const want = blobsOf.get(amd.digest)!.map((b) => b.digest.slice(7)).sort();
    let inv: { manifests: { sha256: string[] }; blobs: { sha256?: string[] } } | undefined;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await runCli(['inventory', '--root', mirror.root]);
      expect(r.code, r.out).toBe(0);
      inv = JSON.parse(r.stdout);
      if ((inv!.blobs.sha256 ?? []).length >= want.length || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(inv!.blobs.sha256).toEqual(want);
    expect(inv!.manifests.sha256).toEqual([index.digest, amd.digest].map((d) => d.slice(7)).sort());
    const stored = await filesUnder(join(mirror.root, 'blobs'));
    const all = [...blobsOf.values()].flat().reduce((n, b) => n + b.size, 0);
    const mine = blobsOf.get(amd.digest)!.reduce((n, b) => n + b.size, 0);
    expect(stored).toEqual({ count: want.length, bytes: mine });
    console.log(`mirror.platforms [linux/amd64]: ${stored.bytes} bytes of blobs stored against ${all} for all three platforms (${((100 * stored.bytes) / all).toFixed(1)}%)`);
    // the record says the index is sparse on purpose, and an export carries just as much
    const out = join(work, 'amd64.tar');
    const made = await runCli(['export', 'docker.io/library/multi:v1', '-o', out, '--root', mirror.root]);
    expect(made.code, made.out).toBe(0);
    const names = (await sh('tar', ['-tf', out])).trim().split('\n').sort();
    expect(names).toEqual(['index.json', 'oci-layout', ...[index.digest, amd.digest].map((d) => d.slice(7)).concat(want).map((h) => `blobs/sha256/${h}`)].sort());
    const top = JSON.parse(await sh('tar', ['-xOf', out, 'index.json'])) as { manifests: { digest: string }[]; annotations: Record<string, string> };
    expect(top.manifests[0]!.digest).toBe(index.digest);
    expect(top.annotations['dev.berth.bundle.platforms']).toBe('linux/amd64');
  });

  it('with the upstream gone, ctr pulls linux/amd64 through berth; another platform is a clean MANIFEST_UNKNOWN', async () => {
    await up.close();
    const hostsDir = join(work, 'certs.d');
    const mc = await runCli(['mirror-config', '--registry', mirror.host, '--upstream', 'docker.io', '-o', hostsDir]);
    expect(mc.code, mc.out).toBe(0);
    await ctr('images', 'pull', '--platform', 'linux/amd64', '--hosts-dir', hostsDir, '--snapshotter', 'native', 'docker.io/library/multi:v1');
    expect(await listedDigest(ctr, 'docker.io/library/multi:v1')).toBe(index.digest);
    const arm64 = index.children.find((c) => c.platform?.architecture === 'arm64')!;
    const r = await fetch(`${mirror.url}/v2/docker.io/library/multi/manifests/${arm64.digest}`, { headers: { accept: arm64.mediaType } });
    expect(r.status).toBe(404);
    const err = ((await r.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(err.message).toContain('linux/arm64 child of index');
  });
});
