/**
 * The image-redirect webhook's answer to an AdmissionReview (admission.k8s.io/v1) for a Pod: a JSON
 * Patch (RFC 6902) replacing the image of each container, init container and ephemeral container
 * that berth serves under its own name (rewrite.ts). A webhook must never keep a pod from starting
 * because of berth: whatever is not understood (another kind, an unparseable image, a failed lookup)
 * is allowed unchanged. Only a body that is no AdmissionReview at all is refused (400).
 */
import type { ImageRewriter } from './rewrite.js';
import type { ImageRef } from './reference.js';

export class BadReview extends Error {}

/** The pod label (or namespace label, in the webhook configuration's selectors) that turns rewriting off. */
export interface OptOut {
  key: string;
  value: string;
}

export interface ReviewDeps {
  rewriter: ImageRewriter;
  optOut: OptOut;
  /**
   * `webhook.rewrite: available`: whether berth has the image or an upstream that can fill it (its
   * own index only, no network); absent, every image is rewritten (`always`).
   */
  available?: (ref: ImageRef, local: string) => Promise<boolean>;
}

interface JsonPatchOp {
  op: 'replace';
  path: string;
  value: string;
}

const KINDS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The AdmissionReview to answer `body` with; BadReview when `body` is not an AdmissionReview. */
export async function review(body: unknown, deps: ReviewDeps): Promise<Record<string, unknown>> {
  if (!isObject(body) || body.kind !== 'AdmissionReview' || body.apiVersion !== 'admission.k8s.io/v1') {
    throw new BadReview('expected an AdmissionReview of apiVersion admission.k8s.io/v1');
  }
  const request = body.request;
  if (!isObject(request) || typeof request.uid !== 'string' || request.uid === '') throw new BadReview('the AdmissionReview has no request.uid');
  const answer = (patch?: JsonPatchOp[]) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid: request.uid,
      allowed: true,
      ...(patch?.length ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}),
    },
  });
  const kind = isObject(request.kind) ? request.kind : {};
  const pod = request.object;
  if (kind.kind !== 'Pod' || (kind.group ?? '') !== '' || !isObject(pod) || !isObject(pod.spec)) return answer();
  const labels = isObject(pod.metadata) && isObject(pod.metadata.labels) ? pod.metadata.labels : {};
  if (labels[deps.optOut.key] === deps.optOut.value) return answer();
  const patch: JsonPatchOp[] = [];
  for (const k of KINDS) {
    const list = pod.spec[k];
    if (!Array.isArray(list)) continue;
    for (const [i, c] of list.entries()) {
      if (!isObject(c) || typeof c.image !== 'string') continue;
      const to = deps.rewriter.rewrite(c.image);
      if (!to) continue;
      if (deps.available && !(await deps.available(to.ref, to.local).catch(() => false))) continue;
      patch.push({ op: 'replace', path: `/spec/${k}/${i}/image`, value: to.image });
    }
  }
  return answer(patch);
}
