/** distribution-spec v1.1 "Listing Referrers" (end-12) and "Pushing Manifests with Subject". */
import { check, errorEnvelope, header, status } from '../check.js';
import { EMPTY_JSON, OCI_INDEX, OCI_MANIFEST, blob, descriptor, digest, manifest, type Manifest } from '../content.js';
import type { Case, Context } from '../context.js';

type Index = { schemaVersion: number; mediaType?: string; manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };

async function artifact(ctx: Context, repo: string, subject: Manifest | { digest: string; size: number; mediaType: string }, type: string, note: string) {
  const empty = await ctx.pushEmptyConfig(repo);
  const payload = blob(40);
  await ctx.pushBlob(repo, payload);
  const m = manifest(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: type,
      config: descriptor(EMPTY_JSON, empty),
      layers: [descriptor(type, payload)],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: 'bytes' in subject ? subject.bytes.length : subject.size },
      annotations: { 'org.example.note': note },
    },
    OCI_MANIFEST,
  );
  const r = await ctx.req('PUT', `/v2/${repo}/manifests/${m.digest}`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
  return { m, r };
}

export const referrerCases: Case[] = [
  {
    workflow: 'referrers',
    name: 'a manifest with a subject: 201 with OCI-Subject',
    async run(ctx) {
      const repo = ctx.repo('ref-subject');
      const { manifest: s } = await ctx.pushImage(repo, 'v1');
      const { r } = await artifact(ctx, repo, s, 'application/spdx+json', 'sbom');
      status(r, 201);
      header(r, 'oci-subject', s.digest);
    },
  },
  {
    workflow: 'referrers',
    name: 'GET referrers: an OCI index listing each referrer with artifactType and annotations',
    async run(ctx) {
      const repo = ctx.repo('ref-list');
      const { manifest: s } = await ctx.pushImage(repo, 'v1');
      const a = await artifact(ctx, repo, s, 'application/spdx+json', 'sbom');
      const b = await artifact(ctx, repo, s, 'application/vnd.example.sig', 'sig');
      status(a.r, 201);
      status(b.r, 201);
      const r = await ctx.req('GET', `/v2/${repo}/referrers/${s.digest}`);
      status(r, 200);
      header(r, 'content-type', OCI_INDEX);
      const idx = r.json<Index>();
      check(idx.schemaVersion === 2, 'schemaVersion is not 2');
      const got = idx.manifests.map((d) => d.digest).sort();
      check(JSON.stringify(got) === JSON.stringify([a.m.digest, b.m.digest].sort()), `referrers are ${JSON.stringify(got)}`);
      const sbom = idx.manifests.find((d) => d.digest === a.m.digest)!;
      check(sbom.artifactType === 'application/spdx+json', `artifactType is ${sbom.artifactType}`);
      check(sbom.annotations?.['org.example.note'] === 'sbom', 'annotations are missing');
    },
  },
  {
    workflow: 'referrers',
    name: 'GET referrers?artifactType= filters and says so with OCI-Filters-Applied',
    async run(ctx) {
      const repo = ctx.repo('ref-filter');
      const { manifest: s } = await ctx.pushImage(repo, 'v1');
      const a = await artifact(ctx, repo, s, 'application/spdx+json', 'sbom');
      await artifact(ctx, repo, s, 'application/vnd.example.sig', 'sig');
      const r = await ctx.req('GET', `/v2/${repo}/referrers/${s.digest}?artifactType=${encodeURIComponent('application/spdx+json')}`);
      status(r, 200);
      header(r, 'oci-filters-applied', 'artifactType');
      const got = r.json<Index>().manifests.map((d) => d.digest);
      check(JSON.stringify(got) === JSON.stringify([a.m.digest]), `filtered referrers are ${JSON.stringify(got)}`);
    },
  },
  {
    workflow: 'referrers',
    name: 'a subject that was never pushed: the referrer is accepted and listed',
    async run(ctx) {
      const repo = ctx.repo('ref-dangling');
      await ctx.pushBlob(repo, blob(10));
      const ghost = { mediaType: OCI_MANIFEST, digest: digest('not pushed'), size: 10 };
      const a = await artifact(ctx, repo, ghost, 'application/spdx+json', 'early');
      status(a.r, 201);
      const r = await ctx.req('GET', `/v2/${repo}/referrers/${ghost.digest}`);
      status(r, 200);
      check(r.json<Index>().manifests.some((d) => d.digest === a.m.digest), 'the referrer is not listed');
    },
  },
  {
    workflow: 'referrers',
    name: 'GET referrers of an unknown digest: 200 with an empty index',
    async run(ctx) {
      const repo = ctx.repo('ref-none');
      await ctx.pushImage(repo, 'v1');
      const r = await ctx.req('GET', `/v2/${repo}/referrers/${digest('no such subject')}`);
      status(r, 200);
      header(r, 'content-type', OCI_INDEX);
      check(r.json<Index>().manifests.length === 0, 'index is not empty');
    },
  },
  {
    workflow: 'referrers',
    name: 'GET referrers of a malformed digest: 400 DIGEST_INVALID',
    async run(ctx) {
      const repo = ctx.repo('ref-bad');
      await ctx.pushImage(repo, 'v1');
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/referrers/sha256:nothex`), [400], ['DIGEST_INVALID']);
    },
  },
];
