/**
 * Kubernetes probes: /livez (the process answers), /readyz (index open, storage writable, not
 * shutting down) and /startupz (start-up finished). Plain JSON, no auth: they reveal nothing.
 */
import type { FastifyInstance } from 'fastify';

export interface Health {
  /** Set when shutdown begins: readiness fails so traffic moves away first. */
  shuttingDown: boolean;
  /** Probes storage and index (a write and a read); throws when either fails. */
  check(): Promise<void>;
}

export async function healthRoutes(app: FastifyInstance, health: Health): Promise<void> {
  app.get('/livez', async (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/startupz', async (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (health.shuttingDown) return reply.code(503).send({ status: 'shutting down' });
    try {
      await health.check();
      return reply.send({ status: 'ok' });
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', reason: (err as Error).message });
    }
  });
}
