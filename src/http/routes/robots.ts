/**
 * Robot accounts, two doors onto the same service:
 * - /_berth/robots for the `berth token` command line on the same host (loopback callers only, like
 *   /_berth/gc);
 * - /api/robots for the web UI's administrators (accessControl.adminPolicy; a session's CSRF token),
 *   where the owner defaults to the administrator.
 * POST {name, owner, scopes: ["glob:pull,push"], expires?: "90d"} answers the secret, once; GET lists
 * them (never a secret or its hash); DELETE .../<name> revokes one at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { durationMs } from '../../config/config.js';
import { RegistryError } from '../../oci/errors.js';
import { parseRobotScope, type RobotRecord, type Robots } from '../../auth/robots.js';
import { sendError } from '../errors.js';
import { loopbackOnly } from './admin.js';
import { requireAdmin, type ApiAuth } from '../api-caller.js';

/** What a listing shows of a robot: everything but its secret's hash. */
export function publicRobot(r: RobotRecord): Omit<RobotRecord, 'secretHash'> {
  const { secretHash: _, ...rest } = r;
  return rest;
}

async function create(robots: Robots, body: unknown, defaultOwner: string | undefined) {
  const b = (body ?? {}) as { name?: unknown; owner?: unknown; scopes?: unknown; expires?: unknown };
  const owner = b.owner ?? defaultOwner;
  if (typeof b.name !== 'string' || typeof owner !== 'string' || !Array.isArray(b.scopes) || b.scopes.some((s) => typeof s !== 'string')) {
    throw new RegistryError('UNSUPPORTED', 'expected {name, owner, scopes: ["REPOSITORY-GLOB:ACTIONS", ...], expires?}', { status: 400 });
  }
  let expiresInMs: number | undefined;
  if (b.expires !== undefined && b.expires !== '') {
    try {
      expiresInMs = durationMs(b.expires as string);
    } catch (err) {
      throw new RegistryError('UNSUPPORTED', `expires: ${(err as Error).message}`, { status: 400 });
    }
  }
  const made = await robots.create({ name: b.name, owner, scopes: (b.scopes as string[]).map(parseRobotScope), ...(expiresInMs !== undefined ? { expiresInMs } : {}) });
  return { username: made.username, secret: made.secret, robot: publicRobot(made.record) };
}

/** `api`: the web UI's door too (with the UI on). */
export async function robotRoutes(app: FastifyInstance, robots: Robots, api?: ApiAuth): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });
    const doors: [string, (request: FastifyRequest) => Promise<string | undefined>][] = [
      ['/_berth/robots', async (request) => (loopbackOnly(request), undefined)],
    ];
    if (api) doors.push(['/api/robots', async (request) => (await requireAdmin(api, request)).principal]);
    for (const [base, allow] of doors) {
      scope.post(base, async (request: FastifyRequest, reply: FastifyReply) => {
        const admin = await allow(request);
        return reply.code(201).send(await create(robots, request.body, admin));
      });
      scope.get(base, async (request: FastifyRequest, reply: FastifyReply) => {
        await allow(request);
        return reply.send({ robots: (await robots.list()).map(publicRobot) });
      });
      scope.delete(`${base}/:name`, async (request: FastifyRequest, reply: FastifyReply) => {
        await allow(request);
        return reply.send({ robot: publicRobot(await robots.revoke((request.params as { name: string }).name)) });
      });
    }
  });
}
