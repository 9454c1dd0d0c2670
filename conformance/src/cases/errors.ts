/** distribution-spec v1.1 "Error Codes": bad input answered with the envelope and the right code. */
import { errorEnvelope } from '../check.js';
import { OCI_MANIFEST, blob } from '../content.js';
import type { Case } from '../context.js';

export const errorCases: Case[] = [
  {
    workflow: 'errors',
    name: 'an invalid repository name: 400 NAME_INVALID',
    async run(ctx) {
      errorEnvelope(await ctx.req('GET', `/v2/${ctx.namespace}/UPPER/tags/list`), [400, 404], ['NAME_INVALID']);
      errorEnvelope(await ctx.req('POST', `/v2/${ctx.namespace}/bad__-name/blobs/uploads/`), [400, 404], ['NAME_INVALID']);
    },
  },
  {
    workflow: 'errors',
    name: 'a malformed digest: 400 DIGEST_INVALID',
    async run(ctx) {
      const repo = ctx.repo('err-digest');
      await ctx.pushBlob(repo, blob(10));
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/blobs/sha256:xyz`), [400, 404], ['DIGEST_INVALID', 'BLOB_UNKNOWN']);
      errorEnvelope(await ctx.req('POST', `/v2/${repo}/blobs/uploads/?digest=sha256:xyz`, { body: 'abc' }), [400], ['DIGEST_INVALID']);
    },
  },
  {
    workflow: 'errors',
    name: 'an unknown upload session: 404 BLOB_UPLOAD_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('err-upload');
      await ctx.pushBlob(repo, blob(10));
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/blobs/uploads/00000000-0000-0000-0000-000000000000`), [404], ['BLOB_UPLOAD_UNKNOWN']);
      errorEnvelope(await ctx.req('PATCH', `/v2/${repo}/blobs/uploads/00000000-0000-0000-0000-000000000000`, { body: 'x' }), [404], ['BLOB_UPLOAD_UNKNOWN']);
    },
  },
  {
    workflow: 'errors',
    name: 'a manifest with an invalid tag: 400 MANIFEST_INVALID or NAME_INVALID',
    async run(ctx) {
      const repo = ctx.repo('err-tag');
      const config = blob(10);
      await ctx.pushBlob(repo, config);
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/-not-a-tag`, { headers: { 'content-type': OCI_MANIFEST }, body: '{}' });
      errorEnvelope(r, [400], ['MANIFEST_INVALID', 'NAME_INVALID', 'DIGEST_INVALID']);
    },
  },
  {
    workflow: 'errors',
    name: 'a manifest whose Content-Type disagrees with its mediaType: 400 MANIFEST_INVALID',
    async run(ctx) {
      const repo = ctx.repo('err-mediatype');
      const config = blob(10);
      await ctx.pushBlob(repo, config);
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      });
      errorEnvelope(await ctx.req('PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body }), [400], ['MANIFEST_INVALID']);
    },
  },
];
