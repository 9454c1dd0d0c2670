/** distribution-spec v1.1 "Pull": end-1, end-2 (blobs, with ranges), end-3 (manifests). */
import { check, errorEnvelope, header, status } from '../check.js';
import { OCI_MANIFEST, blob, digest } from '../content.js';
import type { Case } from '../context.js';

export const pullCases: Case[] = [
  {
    workflow: 'pull',
    name: 'GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0',
    async run(ctx) {
      const r = await ctx.req('GET', '/v2/');
      status(r, 200);
      header(r, 'docker-distribution-api-version', 'registry/2.0');
    },
  },
  {
    workflow: 'pull',
    name: 'GET and HEAD an existing blob: 200, same bytes, Content-Length, Docker-Content-Digest',
    async run(ctx) {
      const repo = ctx.repo('pull-blob');
      const b = blob(4321);
      await ctx.pushBlob(repo, b);
      const g = await ctx.req('GET', `/v2/${repo}/blobs/${b.digest}`);
      status(g, 200);
      check(g.body.equals(b.bytes), 'blob bytes differ from what was pushed');
      header(g, 'docker-content-digest', b.digest);
      const h = await ctx.req('HEAD', `/v2/${repo}/blobs/${b.digest}`);
      status(h, 200);
      header(h, 'content-length', '4321');
      check(h.body.length === 0, 'HEAD returned a body');
    },
  },
  {
    workflow: 'pull',
    name: 'GET and HEAD an unknown blob: 404 BLOB_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('pull-noblob');
      await ctx.pushBlob(repo, blob(10));
      const d = digest('never pushed');
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/blobs/${d}`), [404], ['BLOB_UNKNOWN']);
      status(await ctx.req('HEAD', `/v2/${repo}/blobs/${d}`), 404);
    },
  },
  {
    workflow: 'pull',
    name: 'GET a blob with Range: 206 Partial Content with the requested bytes',
    async run(ctx) {
      const repo = ctx.repo('pull-range');
      const b = blob(1000);
      await ctx.pushBlob(repo, b);
      const r = await ctx.req('GET', `/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=100-299' } });
      status(r, 206);
      header(r, 'content-range', 'bytes 100-299/1000');
      check(r.body.equals(b.bytes.subarray(100, 300)), 'range bytes differ');
      const tail = await ctx.req('GET', `/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=-10' } });
      status(tail, 206);
      check(tail.body.equals(b.bytes.subarray(990)), 'suffix range bytes differ');
    },
  },
  {
    workflow: 'pull',
    name: 'GET a blob with an unsatisfiable Range: 416',
    async run(ctx) {
      const repo = ctx.repo('pull-range416');
      const b = blob(100);
      await ctx.pushBlob(repo, b);
      status(await ctx.req('GET', `/v2/${repo}/blobs/${b.digest}`, { headers: { range: 'bytes=500-600' } }), 416);
    },
  },
  {
    workflow: 'pull',
    name: 'GET a manifest by tag and by digest: the pushed bytes, its media type and digest',
    async run(ctx) {
      const repo = ctx.repo('pull-manifest');
      const { manifest: m } = await ctx.pushImage(repo, 'v1');
      for (const ref of ['v1', m.digest]) {
        const r = await ctx.req('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
        status(r, 200);
        check(r.body.equals(m.bytes), `manifest bytes by ${ref} differ from what was pushed`);
        header(r, 'content-type', OCI_MANIFEST);
        header(r, 'docker-content-digest', m.digest);
      }
    },
  },
  {
    workflow: 'pull',
    name: 'HEAD a manifest: 200 with Content-Length and Docker-Content-Digest, no body',
    async run(ctx) {
      const repo = ctx.repo('pull-head');
      const { manifest: m } = await ctx.pushImage(repo, 'v1');
      const r = await ctx.req('HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      status(r, 200);
      header(r, 'content-length', String(m.bytes.length));
      header(r, 'docker-content-digest', m.digest);
      check(r.body.length === 0, 'HEAD returned a body');
    },
  },
  {
    workflow: 'pull',
    name: 'GET an unknown manifest: 404 MANIFEST_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('pull-nomanifest');
      await ctx.pushImage(repo, 'v1');
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/manifests/nope`), [404], ['MANIFEST_UNKNOWN']);
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/manifests/${digest('nope')}`), [404], ['MANIFEST_UNKNOWN']);
      status(await ctx.req('HEAD', `/v2/${repo}/manifests/nope`), 404);
    },
  },
  {
    workflow: 'pull',
    name: 'GET a manifest of an unknown repository: 404 NAME_UNKNOWN or MANIFEST_UNKNOWN',
    async run(ctx) {
      errorEnvelope(await ctx.req('GET', `/v2/${ctx.repo('never')}/manifests/v1`), [404], ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
    },
  },
  {
    workflow: 'pull',
    name: 'unknown query parameters are ignored (containerd mirror ?ns=)',
    async run(ctx) {
      const repo = ctx.repo('pull-ns');
      const { manifest: m } = await ctx.pushImage(repo, 'v1');
      const r = await ctx.req('GET', `/v2/${repo}/manifests/v1?ns=docker.io`);
      status(r, 200);
      check(r.body.equals(m.bytes), 'manifest bytes differ');
    },
  },
];
