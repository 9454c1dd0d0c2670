/**
 * AdmissionReviews built as the API server sends them (admission.k8s.io/v1, the Pod in
 * request.object), answered by the webhook's review(); the JSON Patch it returns is applied with an
 * RFC 6902 library and the pod checked field by field.
 */
import { describe, expect, it } from 'vitest';
import jsonpatch from 'fast-json-patch';
import { BadReview, review, type ReviewDeps } from '../../../src/webhook/admission.js';
import { ImageRewriter } from '../../../src/webhook/rewrite.js';
import { MirrorNames } from '../../../src/mirror/names.js';

const BERTH = '10.10.254.254:30003';
const D = `sha256:${'b'.repeat(64)}`;
const rewriter = new ImageRewriter({ registry: BERTH, names: new MirrorNames('spectro-images', ['docker.io', 'quay.io']), exclude: ['gcr.io', 'docker.io/bitnami/*'] });
const deps: ReviewDeps = { rewriter, optOut: { key: 'berth.dev/imageswap', value: 'disable' } };

function admissionReview(pod: Record<string, unknown>, kind = { group: '', version: 'v1', kind: 'Pod' }) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', kind, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'apps', operation: 'CREATE', object: pod },
  };
}

function pod(spec: Record<string, unknown>, labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'apps', labels }, spec };
}

type Answer = { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType?: string; patch?: string } };

async function patched(p: ReturnType<typeof pod>, d = deps) {
  const a = (await review(admissionReview(p), d)) as Answer;
  expect(a.apiVersion).toBe('admission.k8s.io/v1');
  expect(a.kind).toBe('AdmissionReview');
  expect(a.response.uid).toBe('705ab4f5-6393-11e8-b7cc-42010a800002');
  expect(a.response.allowed).toBe(true);
  if (!a.response.patch) return { pod: p, ops: [] as jsonpatch.Operation[] };
  expect(a.response.patchType).toBe('JSONPatch');
  const ops = JSON.parse(Buffer.from(a.response.patch, 'base64').toString()) as jsonpatch.Operation[];
  const out = jsonpatch.applyPatch(structuredClone(p), ops, true, false).newDocument;
  return { pod: out, ops };
}

describe('the image-redirect webhook: AdmissionReview in, JSON Patch out', () => {
  it('rewrites containers, init containers and ephemeral containers to berth, keeping tags and digests', async () => {
    const { pod: out } = await patched(pod({
      initContainers: [{ name: 'init', image: 'busybox:1.36' }],
      containers: [
        { name: 'web', image: 'nginx:1.27' },
        { name: 'os', image: `quay.io/kairos/core:v1@${D}` },
        { name: 'pinned', image: `registry.k8s.io/pause@${D}` },
        { name: 'port', image: 'registry.local:5000/team/app' },
      ],
      ephemeralContainers: [{ name: 'debug', image: 'docker.io/library/alpine' }],
    }));
    const spec = out.spec as Record<string, { image: string }[]>;
    expect(spec.initContainers!.map((c) => c.image)).toEqual([`${BERTH}/spectro-images/docker.io/library/busybox:1.36`]);
    expect(spec.containers!.map((c) => c.image)).toEqual([
      `${BERTH}/spectro-images/docker.io/library/nginx:1.27`,
      `${BERTH}/spectro-images/quay.io/kairos/core:v1@${D}`,
      `${BERTH}/spectro-images/registry.k8s.io/pause@${D}`,
      `${BERTH}/spectro-images/registry.local_5000/team/app`,
    ]);
    expect(spec.ephemeralContainers!.map((c) => c.image)).toEqual([`${BERTH}/spectro-images/docker.io/library/alpine`]);
    // nothing but the images changed
    expect({ ...out, spec: undefined }).toEqual({ ...pod({}), spec: undefined });
    expect((spec.containers as unknown as { name: string }[]).map((c) => c.name)).toEqual(['web', 'os', 'pinned', 'port']);
  });

  it('leaves alone images already on berth, excluded hosts and patterns, and references it cannot parse', async () => {
    const images = [`${BERTH}/spectro-images/quay.io/kairos/core:v1`, 'gcr.io/distroless/static', 'bitnami/redis:7', 'Not A Reference', 'nginx:'];
    const { ops } = await patched(pod({ containers: images.map((image, i) => ({ name: `c${i}`, image })) }));
    expect(ops).toEqual([]);
  });

  it('answers without a patch for a pod with the opt-out label, and for other kinds', async () => {
    const p = pod({ containers: [{ name: 'web', image: 'nginx' }] }, { 'berth.dev/imageswap': 'disable' });
    const a = (await review(admissionReview(p), deps)) as Answer;
    expect(a.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    const dep = (await review(admissionReview({ kind: 'Deployment', spec: {} }, { group: 'apps', version: 'v1', kind: 'Deployment' }), deps)) as Answer;
    expect(dep.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });

  it('with rewrite: available, rewrites only what berth can serve; a failed lookup keeps the image', async () => {
    const asked: string[] = [];
    const d: ReviewDeps = {
      ...deps,
      available: async (ref, local) => {
        asked.push(local);
        if (ref.repo === 'library/broken') throw new Error('index down');
        return ref.host === 'quay.io' || local.endsWith('library/nginx');
      },
    };
    const { pod: out } = await patched(pod({ containers: ['nginx:1', 'quay.io/a/b', 'ghcr.io/x/y:1', 'broken'].map((image, i) => ({ name: `c${i}`, image })) }), d);
    expect((out.spec as { containers: { image: string }[] }).containers.map((c) => c.image)).toEqual([
      `${BERTH}/spectro-images/docker.io/library/nginx:1`,
      `${BERTH}/spectro-images/quay.io/a/b`,
      'ghcr.io/x/y:1',
      'broken',
    ]);
    expect(asked).toEqual(['spectro-images/docker.io/library/nginx', 'spectro-images/quay.io/a/b', 'spectro-images/ghcr.io/x/y', 'spectro-images/docker.io/library/broken']);
  });

  it.each([
    ['not an object', 'hello'],
    ['another apiVersion', { ...admissionReview(pod({})), apiVersion: 'admission.k8s.io/v1beta1' }],
    ['another kind', { ...admissionReview(pod({})), kind: 'Pod' }],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' } } }],
  ])('refuses a body that is no AdmissionReview: %s', async (_what, body) => {
    await expect(review(body, deps)).rejects.toBeInstanceOf(BadReview);
  });
});
