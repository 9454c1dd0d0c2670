/** end-3 (GET/HEAD), end-7 (PUT) and end-9 (DELETE) of /v2/<name>/manifests/<reference>. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../../registry/registry.js';
import type { ManifestRecord } from '../../index/metadata.js';
import type { RouteContext, V2Route } from '../router.js';
import { header, readBounded } from '../request.js';
import type { Urls } from '../urls.js';
import type { PullThrough } from '../../mirror/pull-through.js';

/** /v2/<name>/manifests/<reference> on the raw path: the name is everything before the last /manifests/. */
export const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

/** The headers of a manifest GET or HEAD (end-3); the hot path (hot-path.ts) sends the same. */
export function manifestHeaders(record: ManifestRecord): Record<string, string> {
  return {
    'content-type': record.mediaType,
    'content-length': String(record.size),
    'docker-content-digest': record.digest,
    etag: `"${record.digest}"`,
  };
}

function describe(reply: FastifyReply, record: ManifestRecord) {
  return reply.code(200).headers(manifestHeaders(record));
}

export function manifestRoutes(registry: Registry, urls: Urls, pull?: PullThrough): V2Route {
  const manifests = registry.manifests;
  const find = (ctx: RouteContext) => (pull ? pull.manifest(ctx.name, ctx.remote, ctx.ref) : manifests.get(ctx.name, ctx.ref));

  async function head(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const { record } = await find(ctx);
    manifests.notePull(ctx.name, record.digest, false);
    return describe(reply, record).send();
  }

  async function get(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const { record, bytes } = await find(ctx);
    manifests.notePull(ctx.name, record.digest, true);
    return describe(reply, record).send(bytes);
  }

  async function put(request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const bytes = await readBounded(request, registry.options.maxManifestBytes, () => manifests.tooLarge());
    // `?tag=` (distribution-spec "Pushing Manifests with Tags"): more tags for a push by digest, all
    // set in the same write as the manifest; each one applied is echoed in an OCI-Tag header
    const tags = ctx.query.getAll('tag');
    const record = await manifests.put(ctx.name, ctx.ref, header(request, 'content-type'), bytes, { tags });
    if (tags.length) reply.header('OCI-Tag', [...new Set(tags)].join(', '));
    reply.headers({
      Location: urls.manifest(ctx.name, record.digest),
      'Docker-Content-Digest': record.digest,
      'Content-Length': '0',
    });
    // spec "Pushing Manifests with Subject": tells the client the referrers API is supported.
    if (record.subject) reply.header('OCI-Subject', record.subject);
    return reply.code(201).send();
  }

  async function del(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    await manifests.delete(ctx.name, ctx.ref);
    return reply.code(202).header('Content-Length', '0').send();
  }

  return {
    kind: 'manifest',
    pattern: MANIFEST_PATH,
    hasName: true,
    methods: {
      GET: { action: 'pull', handler: get },
      HEAD: { action: 'pull', handler: head },
      PUT: { action: 'push-manifest', handler: put },
      DELETE: { action: 'delete', handler: del },
    },
  };
}
