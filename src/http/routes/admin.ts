/**
 * Operator endpoints for the `berth` command line on the same host: POST /_berth/gc[?dryRun=1] runs a
 * garbage collection in the serving process (which holds the index); POST /_berth/mirror/cache
 * enforces mirror.cache's budget now. Loopback callers only: nothing
 * here is reachable through a NodePort or an ingress.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import type { Registry } from '../../registry/registry.js';
import type { CacheBudget } from '../../mirror/cache-budget.js';
import { sendError } from '../errors.js';

function loopback(ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
}

/** Operator endpoints refuse anyone but this host (the socket's address: no header can fake it). */
export function loopbackOnly(request: FastifyRequest): void {
  if (!loopback(request.raw.socket.remoteAddress ?? '')) throw new RegistryError('DENIED', 'operator endpoints answer loopback callers only');
}

/** `cache`: mirror.cache's budget, when set: POST /_berth/mirror/cache enforces it now and answers what it evicted. */
export async function adminRoutes(app: FastifyInstance, registry: Registry, gcDelayMs: number, cache?: Pick<CacheBudget, 'enforce'>): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    scope.post('/_berth/gc', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const dryRun = new URL(request.url, 'http://x').searchParams.get('dryRun') === '1';
      // The idle timeout is for slow clients; this one waits on the server's own work, which on a
      // store of a million blobs takes minutes with nothing on the socket.
      request.raw.socket.setTimeout(0);
      return reply.send(await registry.gc.run({ delayMs: gcDelayMs, dryRun }));
    });
    scope.post('/_berth/mirror/cache', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      if (!cache) throw new RegistryError('UNSUPPORTED', 'no mirror.cache budget is configured', { status: 404 });
      request.raw.socket.setTimeout(0);
      return reply.send(await cache.enforce());
    });
  });
}
