/**
 * berth with its blobs in S3 (the run's Ceph RGW) and its metadata in PostgreSQL, driven by real
 * clients: skopeo, crane and containerd round trips keep every digest, and berth's conformance suite
 * passes whole against it (conformance/: the same suite CI runs against the default engines). All of
 * it twice: against one berth, and against three replicas behind a round-robin proxy, where each
 * request of a client (every chunk, every manifest, every tag list) lands on the next replica.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';
import { SHARED_TOOLS, crane, requireTool, sh, which } from '../helpers/tools.js';
import { engineArgs } from '../helpers/engines.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { startReplicas } from '../helpers/replicas.js';
import { ctrOn, listedDigest, pushThenForget, startContainerd } from '../helpers/containerd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type Layout = { manifests: { digest: string }[] };
const layoutDigest = async (dir: string) => (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** What the tests drive: one address, and what answered there. */
interface Target {
  url: string;
  host: string;
  /** Requests each replica answered (one entry for a single berth). */
  spread(): number[];
  stop(): Promise<void>;
}

const single = async (work: string): Promise<Target> => {
  const b = await spawnBerth({ args: await engineArgs('s3+postgres', work) });
  return { url: b.url, host: b.host, spread: () => [0], stop: () => b.stop() };
};
const replicated = async (): Promise<Target> => {
  const r = await startReplicas(3);
  return {
    url: r.url,
    host: r.host,
    spread: () => r.berths.map((_, i) => r.served.filter((s) => s === i).length),
    stop: () => r.stop(),
  };
};

describe.each([
  ['one berth', single],
  ['three replicas behind a round-robin proxy', replicated],
] as const)('real clients on S3 + PostgreSQL: %s', (mode, start) => {
  let berth: Target;
  let work: string;
  let mkoci: string;

  beforeAll(async () => {
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await testDirPersistent('berth-engines-clients-');
    berth = await start(work);
  }, 60_000);
  afterAll(async () => {
    if (!berth) return;
    // every replica took part: a test that ran on one of them proves nothing about the others
    if (mode !== 'one berth') {
      console.log(`real clients through the proxy: requests answered by each replica ${berth.spread().join(', ')}`);
      expect(Math.min(...berth.spread())).toBeGreaterThan(10);
    }
    await berth.stop();
  });

  it('skopeo copies an image and a two-platform index in and back out with the same digests', async () => {
    const skopeo = await which('skopeo', 'apt-get install -y skopeo (.ci/run does)');
    const tls = ['--dest-tls-verify=false', '--src-tls-verify=false'];
    for (const [kind, args] of [['image', ['512', '1024', '64']], ['multi', ['256']]] as const) {
      const src = join(work, `sk-${kind}`);
      await sh('bash', [mkoci, kind, src, ...args]);
      const ref = `docker://${berth.host}/engines/${kind}:v1`;
      await sh(skopeo, ['copy', '--all', ...tls, `oci:${src}:latest`, ref]);
      expect(sha(await sh(skopeo, ['inspect', '--raw', '--tls-verify=false', ref]))).toBe(await layoutDigest(src));
      const out = join(work, `sk-${kind}-out`);
      await sh(skopeo, ['copy', '--all', ...tls, ref, `oci:${out}:v1`]);
      expect(await layoutDigest(out)).toBe(await layoutDigest(src));
    }
  });

  it('crane pushes, pulls, copies and lists', async () => {
    const bin = await crane();
    const c = (...args: string[]) => sh(bin, [...args, '--insecure'], { env: { DOCKER_CONFIG: join(work, 'docker') } });
    const src = join(work, 'cr-img');
    await sh('bash', [mkoci, 'image', src, '300', '40']);
    const want = await layoutDigest(src);
    await c('push', src, `${berth.host}/engines/crane:v1`);
    expect((await c('digest', `${berth.host}/engines/crane:v1`)).trim()).toBe(want);
    await c('copy', `${berth.host}/engines/crane:v1`, `${berth.host}/engines/crane-copy:v2`);
    expect((await c('ls', `${berth.host}/engines/crane-copy`)).trim()).toBe('v2');
    await c('pull', '--format', 'oci', `${berth.host}/engines/crane-copy:v2`, join(work, 'cr-out'));
    expect(await layoutDigest(join(work, 'cr-out'))).toBe(want);
  });

  it('containerd (ctr) pushes with --plain-http and pulls back, fetch and unpack', async () => {
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    const ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    const dir = join(work, 'ctr');
    const daemon = await startContainerd(containerd, dir);
    const ctr = ctrOn(ctrBin, daemon.sock);
    try {
      const src = join(work, 'ctr-img');
      await sh('bash', [mkoci, 'image', src, '256', '64', '32']);
      const want = await layoutDigest(src);
      const name = `${berth.host}/engines/ctr`;
      await pushThenForget(ctr, src, name);
      await ctr('images', 'pull', '--plain-http', '--snapshotter', 'native', `${name}:latest`);
      expect(await listedDigest(ctr, `${name}:latest`)).toBe(want);
    } finally {
      await daemon.stop();
    }
  }, 240_000);

  it("passes berth's conformance suite", async () => {
    await sh(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'conformance', 'tsconfig.json')]);
    const out = await sh(process.execPath, [join(ROOT, 'conformance', 'dist', 'main.js'), '--url', berth.url], { timeout: 300_000 }).catch((err: Error) => err.message);
    const summary = /(\d+) passed, (\d+) failed/.exec(out);
    expect(summary, out.slice(-3000)).not.toBeNull();
    expect(Number(summary![2]), out.slice(-3000)).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(50);
  }, 300_000);
});
