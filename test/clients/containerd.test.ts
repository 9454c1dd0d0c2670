/**
 * containerd's ctr, with a containerd this test starts itself: push and pull with --plain-http, and
 * berth as a mirror for docker.io through hosts.toml (containerd then adds ?ns=docker.io).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { ctrOn, listedDigest, pushThenForget, startContainerd, type Ctr } from '../helpers/containerd.js';
import { SHARED_TOOLS, requireTool, sh, which } from '../helpers/tools.js';

type Layout = { manifests: { digest: string }[] };
const layoutDigest = async (dir: string) => (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;

describe('containerd (ctr)', () => {
  let berth: Berth;
  let work: string;
  let daemon: { stop(): Promise<void> } | undefined;
  let ctrBin: string;
  let skopeo: string;
  let mkoci: string;
  let sock: string;
  let ctr: Ctr;
  const imageDigest = (ref: string) => listedDigest(ctr, ref);

  beforeAll(async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-ctr-'));
    const d = await startContainerd(containerd, work);
    sock = d.sock;
    ctr = ctrOn(ctrBin, sock);
    daemon = d;
    berth = await spawnBerth();
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
    await daemon?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('imports a layout, pushes it with --plain-http, and pulls it back (fetch and unpack)', async () => {
    const src = join(work, 'img');
    await sh('bash', [mkoci, 'image', src, '256', '64']);
    const want = await layoutDigest(src);
    const name = `${berth.host}/ctr/img`;
    await pushThenForget(ctr, src, name);
    const before = berth.log().length;
    await ctr('images', 'pull', '--plain-http', '--snapshotter', 'native', `${name}:latest`);
    expect(await imageDigest(`${name}:latest`)).toBe(want);
    // the layers really came from berth again
    const fetched = /"method":"GET","url":"\/v2\/ctr\/img\/blobs\/sha256:[0-9a-f]{64}","status":200/;
    await berth.logMatching((log) => fetched.test(log.slice(before)));
    expect(berth.log().slice(before)).toMatch(fetched);
  });

  it('pulls a two-platform index with --all-platforms', async () => {
    const src = join(work, 'multi');
    await sh('bash', [mkoci, 'multi', src, '64']);
    const want = await layoutDigest(src);
    const ref = `${berth.host}/ctr/multi:v1`;
    await sh(skopeo, ['copy', '--all', '--dest-tls-verify=false', `oci:${src}:latest`, `docker://${ref}`]);
    await ctr('images', 'pull', '--plain-http', '--all-platforms', ref);
    expect(await imageDigest(ref)).toBe(want);
  });

  it('pulls docker.io/library/<name> through berth as a mirror (hosts.toml), with ?ns=docker.io', async () => {
    const src = join(work, 'mirror');
    await sh('bash', [mkoci, 'image', src, '32']);
    const want = await layoutDigest(src);
    await sh(skopeo, ['copy', '--dest-tls-verify=false', `oci:${src}:latest`, `docker://${berth.host}/library/berth-mirror-test:1.0`]);
    const hosts = join(work, 'certs.d');
    await mkdir(join(hosts, 'docker.io'), { recursive: true });
    // server = a closed loopback port: the pull must never fall back to Docker Hub.
    await writeFile(
      join(hosts, 'docker.io', 'hosts.toml'),
      `server = "http://127.0.0.1:9"\n\n[host."http://${berth.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    await ctr('images', 'pull', '--hosts-dir', hosts, '--snapshotter', 'native', 'docker.io/library/berth-mirror-test:1.0');
    expect(await imageDigest('docker.io/library/berth-mirror-test:1.0')).toBe(want);
    expect(await berth.logMatching('"url":"/v2/library/berth-mirror-test/manifests/1.0?ns=docker.io","status":200')).toMatch(
      /"url":"\/v2\/library\/berth-mirror-test\/manifests\/1\.0\?ns=docker\.io","status":200/,
    );
  });
});
