/**
 * end-4a/4b (POST), end-5 (PATCH), end-6 (PUT), end-11 (mount), end-13 (GET status), DELETE of a
 * session: /v2/<name>/blobs/uploads/[<uuid>].
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import type { Registry } from '../../registry/registry.js';
import { rangeHeaders, type Chunk, type UploadState } from '../../registry/uploads.js';
import type { RouteContext, V2Route } from '../router.js';
import { chunkRange, contentLength, hasBody } from '../request.js';
import type { Urls } from '../urls.js';

export function uploadRoutes(registry: Registry, urls: Urls): V2Route[] {
  const uploads = registry.uploads;

  function session(reply: FastifyReply, state: UploadState, status: number) {
    return reply
      .code(status)
      .headers({
        Location: urls.upload(state.repo, state.id),
        'Docker-Upload-UUID': state.id,
        'Content-Length': '0',
        ...rangeHeaders(state.offset),
      })
      .send();
  }

  function created(reply: FastifyReply, name: string, digest: string) {
    return reply
      .code(201)
      .headers({ Location: urls.blob(name, digest), 'Docker-Content-Digest': digest, 'Content-Length': '0' })
      .send();
  }

  function chunkOf(request: FastifyRequest): Chunk {
    const chunk: Chunk = { body: request.raw };
    const length = contentLength(request);
    const range = chunkRange(request);
    if (length !== undefined) chunk.length = length;
    if (range) chunk.range = range;
    return chunk;
  }

  async function post(request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const digest = ctx.query.get('digest');
    if (digest !== null) {
      const done = await uploads.monolithic(ctx.name, digest, request.raw, contentLength(request));
      return created(reply, ctx.name, done.digest.value);
    }
    const mount = ctx.query.get('mount');
    if (mount !== null) {
      const from = ctx.query.get('from') ?? undefined;
      const done = await uploads.mount(ctx.name, mount, from, (r) => ctx.access.canRead(r));
      if (done) return created(reply, ctx.name, done.digest.value);
    }
    return session(reply, await uploads.start(ctx.name, ctx.access.principal), 202);
  }

  async function patch(request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    return session(reply, await uploads.append(ctx.name, ctx.ref, chunkOf(request), ctx.access.principal), 202);
  }

  async function put(request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const digest = ctx.query.get('digest');
    if (digest === null) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
    const chunk = hasBody(request) ? chunkOf(request) : undefined;
    const done = await uploads.complete(ctx.name, ctx.ref, digest, chunk, ctx.access.principal);
    return created(reply, ctx.name, done.digest.value);
  }

  async function status(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    return session(reply, await uploads.status(ctx.name, ctx.ref, ctx.access.principal), 204);
  }

  async function cancel(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    await uploads.cancel(ctx.name, ctx.ref, ctx.access.principal);
    return reply.code(204).send();
  }

  return [
    {
      kind: 'upload',
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
      hasName: true,
      methods: { POST: { action: 'push', handler: post } },
    },
    {
      kind: 'upload',
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
      hasName: true,
      methods: {
        GET: { action: 'push', handler: status },
        PATCH: { action: 'push', handler: patch },
        PUT: { action: 'push', handler: put },
        DELETE: { action: 'push', handler: cancel },
      },
    },
  ];
}
