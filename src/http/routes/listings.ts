/** end-1 (GET /v2/), end-8 (tags/list), end-12 (referrers) and the /v2/_catalog extension. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MT } from '../../oci/mediatypes.js';
import type { Registry } from '../../registry/registry.js';
import type { RouteContext, V2Route } from '../router.js';
import { pageSize } from '../request.js';
import type { Urls } from '../urls.js';

export function listingRoutes(registry: Registry, urls: Urls): V2Route[] {
  const listings = registry.listings;

  async function base(_req: FastifyRequest, reply: FastifyReply) {
    return reply.code(200).type('application/json').send('{}');
  }

  async function tags(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const last = ctx.query.get('last') ?? undefined;
    const page = await listings.tags(ctx.name, { n: pageSize(ctx.query), last });
    if (page.next) reply.header('Link', `<${urls.tags(ctx.name, page.next.n, page.next.last)}>; rel="next"`);
    return reply.code(200).type('application/json').send({ name: ctx.name, tags: page.items });
  }

  async function catalog(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const last = ctx.query.get('last') ?? undefined;
    const page = await listings.catalog({ n: pageSize(ctx.query), last });
    if (page.next) reply.header('Link', `<${urls.catalog(page.next.n, page.next.last)}>; rel="next"`);
    // Only what the caller may read; a page may come out shorter than n (the spec allows fewer).
    return reply.code(200).type('application/json').send({ repositories: page.items.filter((r) => ctx.access.canRead(r)) });
  }

  async function referrers(_req: FastifyRequest, reply: FastifyReply, ctx: RouteContext) {
    const artifactType = ctx.query.get('artifactType') ?? undefined;
    const result = await listings.referrers(ctx.name, ctx.ref, artifactType);
    if (result.filtered) reply.header('OCI-Filters-Applied', 'artifactType');
    // A Buffer, so Fastify adds no charset: clients compare this media type exactly.
    return reply.code(200).type(MT.ociIndex).send(Buffer.from(JSON.stringify(result.index)));
  }

  return [
    { kind: 'base', pattern: /^\/v2\/?$/, hasName: false, methods: { GET: { action: 'ping', handler: base }, HEAD: { action: 'ping', handler: base } } },
    { kind: 'catalog', pattern: /^\/v2\/_catalog$/, hasName: false, methods: { GET: { action: 'catalog', handler: catalog } } },
    { kind: 'tags', pattern: /^\/v2\/(.+)\/tags\/list$/, hasName: true, methods: { GET: { action: 'pull', handler: tags } } },
    { kind: 'referrers', pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, hasName: true, methods: { GET: { action: 'pull', handler: referrers } } },
  ];
}
