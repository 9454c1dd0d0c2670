/**
 * The image-redirect webhook of a spawned `berth serve`, over its own HTTPS listener: AdmissionReviews
 * as the API server sends them get a JSON Patch that rewrites what berth can serve (`rewrite:
 * available`: what it holds, and what an upstream can fill); a body that is no AdmissionReview gets a
 * 400; only a client that trusts the webhook's CA connects, and a certificate replaced on disk is
 * served to new connections without a restart.
 */
import { request as httpsRequest } from 'node:https';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { testDirPersistent } from '../helpers/tmp.js';
import { freePort } from '../helpers/ports.js';
import { makeCa, makeServerCert } from '../helpers/certs.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';

const BERTH = '10.10.254.254:30003';

/** `servername`: the name the client asks for and checks the certificate against (SNI), as the API server does with `<service>.<namespace>.svc`. */
function post(url: string, body: string, ca: Buffer, servername?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, agent: false, ...(servername ? { servername } : {}), headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const reviewOf = (images: string[], labels: Record<string, string> = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'b6e3b7a8-0f4e-4d7e-9f0e-1c2d3e4f5a6b',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'apps',
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } },
  },
});

describe('image-redirect webhook (webhook.enabled)', () => {
  let berth: Berth;
  let dir: string;
  let url: string;
  let ca: Buffer;
  let tls: { cert: string; key: string };

  beforeAll(async () => {
    dir = await testDirPersistent('berth-webhook-');
    const c = makeCa(join(dir, 'ca'));
    ca = await readFile(c.ca);
    tls = makeServerCert(join(dir, 'ca'), 'webhook');
    const port = await freePort();
    url = `https://127.0.0.1:${port}/mutate-pods`;
    const config = {
      mirror: { prefix: 'spectro-images', upstreams: [{ host: 'quay.io', url: 'http://127.0.0.1:9' }] },
      webhook: { enabled: true, listen: `127.0.0.1:${port}`, tls, registry: BERTH, rewrite: 'available', exclude: ['gcr.io'] },
    };
    await writeFile(join(dir, 'berth.yaml'), `${JSON.stringify(config)}\n`);
    berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')] });
    // berth holds nginx:1.27 (pushed as a bundle or a mirror would have stored it)
    const cfg = blob(100);
    const repo = 'spectro-images/docker.io/library/nginx';
    expect((await fetch(`${berth.url}/v2/${repo}/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes })).status).toBe(201);
    const m = imageManifest(cfg, []);
    expect((await fetch(`${berth.url}/v2/${repo}/manifests/1.27`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
  });
  afterAll(() => berth?.stop());

  it('rewrites what berth holds or an upstream can fill, and leaves the rest', async () => {
    const images = ['nginx:1.27', 'nginx:1.26', 'quay.io/kairos/core:v1', 'gcr.io/distroless/static', 'ghcr.io/a/b:1'];
    const review = reviewOf(images);
    const started = Date.now();
    const r = await post(url, JSON.stringify(review), ca);
    const ms = Date.now() - started;
    expect(r.status).toBe(200);
    const response = r.json.response as { uid: string; allowed: boolean; patchType: string; patch: string };
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as jsonpatch.Operation[];
    const pod = jsonpatch.applyPatch(structuredClone(review.request.object), ops, true, false).newDocument;
    expect(pod.spec.containers.map((c) => c.image)).toEqual([
      `${BERTH}/spectro-images/docker.io/library/nginx:1.27`,
      'nginx:1.26', // neither held nor fillable: the pod keeps pulling it from Docker Hub
      `${BERTH}/spectro-images/quay.io/kairos/core:v1`,
      'gcr.io/distroless/static',
      'ghcr.io/a/b:1',
    ]);
    console.log(`webhook: an AdmissionReview of 5 images answered in ${ms} ms (a fresh TLS connection included)`);
    const optedOut = await post(url, JSON.stringify(reviewOf(images, { 'berth.dev/imageswap': 'disable' })), ca);
    expect(optedOut.json.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('answers a body that is no AdmissionReview with 400 and a message, and unknown paths with 404', async () => {
    const notJson = await post(url, '{"apiVersion":', ca);
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toMatch(/not JSON/);
    const wrong = await post(url, JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), ca);
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatch(/AdmissionReview/);
    expect((await post(url.replace('/mutate-pods', '/validate'), '{}', ca)).status).toBe(404);
  });

  it('serves the certificate berth webhook-cert makes to a client that asks for <service>.<namespace>.svc and trusts its CA', async () => {
    const out = join(dir, 'made');
    const made = await runCli(['webhook-cert', '--service', 'berth-webhook', '--namespace', 'berth', '--out', out]);
    const caBundle = made.stdout.trim().split('\n').pop()!;
    const madeCa = await readFile(join(out, 'ca.crt'));
    expect(Buffer.from(caBundle, 'base64').equals(madeCa)).toBe(true); // what goes into the MutatingWebhookConfiguration
    const port = await freePort();
    const config = { webhook: { enabled: true, listen: `127.0.0.1:${port}`, tls: { cert: join(out, 'tls.crt'), key: join(out, 'tls.key') }, registry: BERTH } };
    await writeFile(join(dir, 'made.yaml'), `${JSON.stringify(config)}\n`);
    const second = await spawnBerth({ args: ['--config', join(dir, 'made.yaml')] });
    try {
      const at = `https://127.0.0.1:${port}/mutate-pods`;
      const r = await post(at, JSON.stringify(reviewOf(['nginx'])), madeCa, 'berth-webhook.berth.svc');
      expect(r.status).toBe(200);
      await expect(post(at, '{}', madeCa, 'berth-webhook.other.svc')).rejects.toThrow(/altnames|Hostname/i);
      await expect(post(at, '{}', ca, 'berth-webhook.berth.svc')).rejects.toThrow(/certificate/);
    } finally {
      await second.stop();
    }
  });

  it('is reached only by clients that trust its CA, and serves a replaced certificate to new connections', async () => {
    const other = makeCa(join(dir, 'other'));
    await expect(post(url, '{}', await readFile(other.ca))).rejects.toThrow(/certificate/);
    const next = makeServerCert(join(dir, 'other'), 'webhook-next');
    // replaced as a Kubernetes Secret's files are: new contents under the same names
    await copyFile(next.key, tls.key);
    await copyFile(next.cert, tls.cert);
    const t = Date.now();
    let status = 0;
    while (Date.now() - t < 10_000 && status !== 400) {
      status = await post(url, '{}', await readFile(other.ca)).then((r) => r.status, () => 0);
      if (status !== 400) await new Promise((res) => setTimeout(res, 250));
    }
    expect(status).toBe(400); // the body is refused, over TLS with the new certificate
    await expect(post(url, '{}', ca)).rejects.toThrow(/certificate/);
  });
});
