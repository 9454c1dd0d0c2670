/**
 * Robot accounts for the `berth token` command line on the same host (loopback callers only, like
 * /_berth/gc): POST /_berth/robots {name, owner, scopes: ["glob:pull,push"], expires?: "90d"} answers
 * the secret, once; GET lists them (never a secret or its hash); DELETE /_berth/robots/<name>
 * revokes one at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { durationMs } from '../../config/config.js';
import { RegistryError } from '../../oci/errors.js';
import { parseRobotScope, type RobotRecord, type Robots } from '../../auth/robots.js';
import { sendError } from '../errors.js';
import { loopbackOnly } from './admin.js';

/** What a listing shows of a robot: everything but its secret's hash. */
export function publicRobot(r: RobotRecord): Omit<RobotRecord, 'secretHash'> {
  const { secretHash: _, ...rest } = r;
  return rest;
}

export async function robotRoutes(app: FastifyInstance, robots: Robots): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    scope.post('/_berth/robots', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const b = (request.body ?? {}) as { name?: unknown; owner?: unknown; scopes?: unknown; expires?: unknown };
      if (typeof b.name !== 'string' || typeof b.owner !== 'string' || !Array.isArray(b.scopes) || b.scopes.some((s) => typeof s !== 'string')) {
        throw new RegistryError('UNSUPPORTED', 'expected {name, owner, scopes: ["REPOSITORY-GLOB:ACTIONS", ...], expires?}', { status: 400 });
      }
      let expiresInMs: number | undefined;
      if (b.expires !== undefined) {
        try {
          expiresInMs = durationMs(b.expires as string);
        } catch (err) {
          throw new RegistryError('UNSUPPORTED', `expires: ${(err as Error).message}`, { status: 400 });
        }
      }
      const made = await robots.create({ name: b.name, owner: b.owner, scopes: (b.scopes as string[]).map(parseRobotScope), ...(expiresInMs !== undefined ? { expiresInMs } : {}) });
      return reply.code(201).header('cache-control', 'no-store').send({ username: made.username, secret: made.secret, robot: publicRobot(made.record) });
    });
    scope.get('/_berth/robots', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      return reply.send({ robots: (await robots.list()).map(publicRobot) });
    });
    scope.delete('/_berth/robots/:name', async (request: FastifyRequest, reply: FastifyReply) => {
      loopbackOnly(request);
      const r = await robots.revoke((request.params as { name: string }).name);
      return reply.send({ robot: publicRobot(r) });
    });
  });
}
