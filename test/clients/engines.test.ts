/**
 * berth with its blobs in S3 (the run's Ceph RGW) and its metadata in PostgreSQL, driven by real
 * clients: skopeo and crane round trips keep every digest, and berth's conformance suite passes
 * whole against it (conformance/: the same suite CI runs against the default engines).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, crane, requireTool, sh, which } from '../helpers/tools.js';
import { engineArgs } from '../helpers/engines.js';
import { testDirPersistent } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type Layout = { manifests: { digest: string }[] };
const layoutDigest = async (dir: string) => (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout).manifests[0]!.digest;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('real clients on S3 + PostgreSQL', () => {
  let berth: Berth;
  let work: string;
  let mkoci: string;

  beforeAll(async () => {
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await testDirPersistent('berth-engines-clients-');
    berth = await spawnBerth({ args: await engineArgs('s3+postgres', work) });
  });
  afterAll(() => berth?.stop());

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

  it("passes berth's conformance suite", async () => {
    await sh(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'conformance', 'tsconfig.json')]);
    const out = await sh(process.execPath, [join(ROOT, 'conformance', 'dist', 'main.js'), '--url', berth.url], { timeout: 300_000 }).catch((err: Error) => err.message);
    const summary = /(\d+) passed, (\d+) failed/.exec(out);
    expect(summary, out.slice(-3000)).not.toBeNull();
    expect(Number(summary![2]), out.slice(-3000)).toBe(0);
    expect(Number(summary![1])).toBeGreaterThan(50);
  }, 300_000);
});
