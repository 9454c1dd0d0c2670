/**
 * berth over TLS with a private CA (issue 8), as skopeo and containerd use it: skopeo trusts the CA
 * through a certs directory, containerd through a hosts.toml `ca` line (written by berth mirror-config).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { makeCa, makeServerCert } from '../helpers/certs.js';
import { startContainerd } from '../helpers/containerd.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';

type Layout = { manifests: { digest: string }[] };

describe('TLS with a private CA (skopeo, ctr)', () => {
  let work: string;
  let berth: Berth;
  let daemon: { stop(): Promise<void> } | undefined;
  let caFile: string;
  let certDir: string;
  let want: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-tls-clients-'));
    const pki = join(work, 'pki');
    caFile = makeCa(pki).ca;
    const { cert, key } = makeServerCert(pki, 'server');
    const config = join(work, 'berth.yaml');
    await writeFile(config, `http:\n  tls: {cert: ${cert}, key: ${key}}\n`);
    berth = await spawnBerth({ args: ['--config', config], tlsCa: readFileSync(caFile) });
    certDir = join(work, 'certs');
    mkdirSync(certDir);
    copyFileSync(caFile, join(certDir, 'ca.crt'));
    const mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    await sh('bash', [mkoci, 'image', join(work, 'img'), '128']);
    want = (JSON.parse(await readFile(join(work, 'img', 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
    await daemon?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('skopeo pushes and pulls with the CA in --cert-dir, and refuses without it', async () => {
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    await sh(skopeo, ['copy', '--dest-cert-dir', certDir, `oci:${join(work, 'img')}:latest`, `docker://${berth.host}/tls/img:v1`]);
    const raw = await sh(skopeo, ['inspect', '--raw', '--cert-dir', certDir, `docker://${berth.host}/tls/img:v1`]);
    expect(JSON.parse(raw).layers).toHaveLength(1);
    await expect(sh(skopeo, ['inspect', '--raw', `docker://${berth.host}/tls/img:v1`])).rejects.toThrow(/certificate/);
  });

  it('containerd pulls through hosts.toml with the CA line from berth mirror-config', async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    const ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    const d = await startContainerd(containerd, join(work, 'ctd'));
    daemon = d;
    const hosts = join(work, 'certs.d');
    // berth as the registry itself: its own host's directory names it, with the CA
    const mc = await runCli(['mirror-config', '--registry', berth.host, '--upstream', berth.host, '--ca', caFile, '--no-fallback', '-o', hosts]);
    expect(mc.code, mc.out).toBe(0);
    const toml = await readFile(join(hosts, berth.host, 'hosts.toml'), 'utf8');
    expect(toml).toContain(`ca = "${caFile}"`);
    expect(toml).toContain(`[host."https://${berth.host}"]`);
    const ctr = (...a: string[]) => sh(ctrBin, ['-a', d.sock, '-n', 'berth-tls', ...a], { timeout: 120_000 });
    await ctr('images', 'pull', '--hosts-dir', hosts, '--snapshotter', 'native', `${berth.host}/tls/img:v1`);
    const line = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${berth.host}/tls/img:v1 `));
    expect(line).toContain(want);
  });
});
