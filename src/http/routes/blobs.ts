/** end-2 (GET/HEAD /v2/<name>/blobs/<digest>) and end-10 (DELETE). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../../registry/registry.js';
import type { RouteContext, V2Route } from '../router.js';
import { byteRange } from '../request.js';
import { sendBlob } from '../send-blob.js';
import type { PullThrough } from '../../mirror/pull-through.js';

/** `zeroCopy: false` serves every download through user space (see send-blob.ts). */
export function blobRoutes(registry: Registry, pull?: PullThrough, zeroCopy = true): V2Route {
  async function head(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const { digest, size } = await (pull ? pull.blobSize(ctx.name, ctx.remote, ctx.ref) : registry.blobs.stat(ctx.name, ctx.ref));
    return reply
      .code(200)
      .headers({
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        'Docker-Content-Digest': digest.value,
        'Accept-Ranges': 'bytes',
        ETag: `"${digest.value}"`,
      })
      .send();
  }

  async function get(request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    if (!pull && registry.blobs.redirects) {
      // spec "Pulling blobs": a registry MAY redirect the client to another location (307)
      const { digest, url } = await registry.blobs.redirect(ctx.name, ctx.ref);
      return reply.code(307).headers({ Location: url, 'Docker-Content-Digest': digest.value, 'Content-Length': '0' }).send();
    }
    const { digest, blob } = await (pull ? pull.blob(ctx.name, ctx.remote, ctx.ref) : registry.blobs.open(ctx.name, ctx.ref));
    let range;
    try {
      range = byteRange(request, blob.size);
    } catch (err) {
      await blob.close();
      throw err;
    }
    reply.headers({
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest.value,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest.value}"`,
      'Cache-Control': 'max-age=31536000',
    });
    if (!range) {
      reply.header('Content-Length', String(blob.size));
      if (blob.size === 0) {
        await blob.close();
        return reply.code(200).send();
      }
      return sendBlob(reply, 200, blob, 0, blob.size - 1, zeroCopy);
    }
    reply.header('Content-Length', String(range.end - range.start + 1));
    reply.header('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`);
    return sendBlob(reply, 206, blob, range.start, range.end, zeroCopy);
  }

  async function del(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    await registry.blobs.delete(ctx.name, ctx.ref);
    return reply.code(202).header('Content-Length', '0').send();
  }

  return {
    kind: 'blob',
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    hasName: true,
    methods: {
      GET: { action: 'pull', handler: get },
      HEAD: { action: 'pull', handler: head },
      DELETE: { action: 'delete', handler: del },
    },
  };
}
