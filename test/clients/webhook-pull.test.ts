/**
 * What the image-redirect webhook rewrites is pulled for real: a pod naming `quay.io/kairos/core` (by
 * tag and by digest) is rewritten by berth's webhook to berth's path-mode name, and containerd (`ctr`)
 * pulls those references from berth, which fills them from a second berth serving as upstream
 * quay.io: the same digests as the source.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { seedUpstream, startUpstream, UPSTREAM_PASSWORD, UPSTREAM_USER, type Upstream } from '../helpers/upstream.js';
import { ctrOn, listedDigest, pruneContent, startContainerd } from '../helpers/containerd.js';
import { freePort } from '../helpers/ports.js';
import { makeCa, makeServerCert } from '../helpers/certs.js';
import { which } from '../helpers/tools.js';

function review(url: string, ca: Buffer, images: string[]): Promise<string[]> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } },
  });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer = JSON.parse(Buffer.concat(chunks).toString()) as { response: { patch?: string } };
        const ops = answer.response.patch ? (JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()) as jsonpatch.Operation[]) : [];
        const pod = jsonpatch.applyPatch(JSON.parse(body).request.object, ops, true, false).newDocument as { spec: { containers: { image: string }[] } };
        resolve(pod.spec.containers.map((c) => c.image));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('images rewritten by the webhook, pulled by containerd', () => {
  let up: Upstream;
  let berth: Berth;
  let work: string;
  let daemon: { sock: string; stop(): Promise<void> } | undefined;
  let hook: string;
  let hookCa: Buffer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-webhook-pull-'));
    up = await startUpstream();
    const c = makeCa(join(work, 'ca'));
    const tls = makeServerCert(join(work, 'ca'), 'webhook');
    const [port, hookPort] = [await freePort(), await freePort()];
    const config = {
      mirror: { prefix: 'spectro-images', upstreams: [{ host: 'quay.io', url: up.url, username: UPSTREAM_USER, password: UPSTREAM_PASSWORD }] },
      webhook: { enabled: true, listen: `127.0.0.1:${hookPort}`, tls, registry: `127.0.0.1:${port}`, rewrite: 'available' },
    };
    await writeFile(join(work, 'berth.yaml'), `${JSON.stringify(config)}\n`);
    berth = await spawnBerth({ port, args: ['--config', join(work, 'berth.yaml')] });
    hook = `https://127.0.0.1:${hookPort}/mutate-pods`;
    hookCa = await readFile(c.ca);
  }, 60_000);
  afterAll(async () => {
    await berth?.stop();
    await daemon?.stop();
    await up?.close().catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls quay.io/kairos/core by tag and by digest through berth with the digests of the source', async () => {
    const ctrBin = await which('ctr', 'apt-get install -y containerd (.ci/run does)');
    const containerd = await which('containerd', 'apt-get install -y containerd (.ci/run does)');
    // the source image in the upstream, as kairos/core:v1
    const digest = await seedUpstream(up, join(work, 'src'), 'kairos/core:v1');
    const rewritten = await review(hook, hookCa, ['quay.io/kairos/core:v1', `quay.io/kairos/core@${digest}`]);
    expect(rewritten).toEqual([`${berth.host}/spectro-images/quay.io/kairos/core:v1`, `${berth.host}/spectro-images/quay.io/kairos/core@${digest}`]);
    daemon = await startContainerd(containerd, join(work, 'ctr'));
    const ctr = ctrOn(ctrBin, daemon.sock);
    for (const ref of rewritten) {
      await ctr('images', 'pull', '--plain-http', '--snapshotter', 'native', ref);
      expect(await listedDigest(ctr, ref)).toBe(digest);
    }
    await pruneContent(ctr);
  }, 240_000);
});
