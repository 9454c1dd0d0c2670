/**
 * GET /_berth/mirror/hosts: the upstream hosts berth mirrors, for `berth mirror-config --watch` on
 * every node (the node-config DaemonSet), which keeps one containerd hosts.toml per host. Public, as
 * the probes are: a node's hosts.toml files say as much.
 */
import type { FastifyInstance } from 'fastify';

export async function mirrorHostsRoute(app: FastifyInstance, hosts: () => string[]): Promise<void> {
  app.get('/_berth/mirror/hosts', async (_request, reply) => reply.header('cache-control', 'no-store').send({ hosts: hosts() }));
}
