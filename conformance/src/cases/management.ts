/** distribution-spec v1.1 "Content management": end-9 (manifests and tags) and end-10 (blobs). */
import { check, errorEnvelope, status } from '../check.js';
import { digest } from '../content.js';
import type { Case } from '../context.js';

export const managementCases: Case[] = [
  {
    workflow: 'management',
    name: 'DELETE a tag: 202, the tag is gone and the manifest stays reachable by digest',
    async run(ctx) {
      const repo = ctx.repo('del-tag');
      const { manifest: m } = await ctx.pushImage(repo, 'keep');
      await ctx.pushManifest(repo, 'drop', m);
      status(await ctx.req('DELETE', `/v2/${repo}/manifests/drop`), 202);
      status(await ctx.req('GET', `/v2/${repo}/manifests/drop`), 404);
      status(await ctx.req('GET', `/v2/${repo}/manifests/keep`), 200);
      status(await ctx.req('GET', `/v2/${repo}/manifests/${m.digest}`), 200);
      const tags = (await ctx.req('GET', `/v2/${repo}/tags/list`)).json<{ tags: string[] }>().tags;
      check(JSON.stringify(tags) === '["keep"]', `tags are ${JSON.stringify(tags)}`);
    },
  },
  {
    workflow: 'management',
    name: 'DELETE a manifest by digest: 202, then 404 by digest and by its tags',
    async run(ctx) {
      const repo = ctx.repo('del-manifest');
      const { manifest: m } = await ctx.pushImage(repo, 'v1');
      status(await ctx.req('DELETE', `/v2/${repo}/manifests/${m.digest}`), 202);
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/manifests/${m.digest}`), [404], ['MANIFEST_UNKNOWN']);
      status(await ctx.req('GET', `/v2/${repo}/manifests/v1`), 404);
    },
  },
  {
    workflow: 'management',
    name: 'DELETE an unknown manifest: 404 MANIFEST_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('del-unknown');
      await ctx.pushImage(repo, 'v1');
      errorEnvelope(await ctx.req('DELETE', `/v2/${repo}/manifests/${digest('absent')}`), [404], ['MANIFEST_UNKNOWN']);
    },
  },
  {
    workflow: 'management',
    name: 'DELETE a blob: 202, then 404 BLOB_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('del-blob');
      const { layer } = await ctx.pushImage(repo, 'v1');
      status(await ctx.req('DELETE', `/v2/${repo}/blobs/${layer.digest}`), 202);
      errorEnvelope(await ctx.req('GET', `/v2/${repo}/blobs/${layer.digest}`), [404], ['BLOB_UNKNOWN']);
    },
  },
  {
    workflow: 'management',
    name: 'DELETE a referrer removes it from the referrers list',
    async run(ctx) {
      const repo = ctx.repo('del-referrer');
      const { manifest: s, config } = await ctx.pushImage(repo, 'v1');
      const { manifest: art } = await ctx.pushImage(repo, 'art', { subject: { mediaType: s.mediaType, digest: s.digest, size: s.bytes.length } });
      void config;
      const list = await ctx.req('GET', `/v2/${repo}/referrers/${s.digest}`);
      status(list, 200);
      const before = list.json<{ manifests: { digest: string }[] }>().manifests;
      check(before.some((d) => d.digest === art.digest), 'the referrer is not listed before the delete');
      status(await ctx.req('DELETE', `/v2/${repo}/manifests/${art.digest}`), 202);
      const after = (await ctx.req('GET', `/v2/${repo}/referrers/${s.digest}`)).json<{ manifests: { digest: string }[] }>().manifests;
      check(!after.some((d) => d.digest === art.digest), 'the deleted referrer is still listed');
    },
  },
];
