/**
 * POST /_berth/pull-credentials[?lifetime=<duration>]: a user who logs in with Basic credentials
 * gets a pull-only password of their own that expires (auth/pull-credentials.ts). The kubelet
 * credential provider on each node trades the node's bootstrap credential for one, so what the
 * kubelet caches and hands to the runtime can only pull, and only until it expires. A minted
 * password cannot mint another (that would make it live forever).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasic } from '../../auth/basic.js';
import type { PasswordCheck } from '../../auth/passwords.js';
import type { PullCredentials } from '../../auth/pull-credentials.js';
import { durationMs } from '../../config/config.js';
import { RegistryError } from '../../oci/errors.js';
import { header, query } from '../request.js';

/** Without `lifetime`: an hour (the credential provider's default cacheDuration). */
const DEFAULT_SECONDS = 3600;

export async function pullCredentialRoutes(app: FastifyInstance, passwords: PasswordCheck, pull: PullCredentials): Promise<void> {
  const challenge = (message: string) => new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': 'Basic realm="berth"' } });
  app.post('/_berth/pull-credentials', async (request: FastifyRequest, reply: FastifyReply) => {
    const creds = parseBasic(header(request, 'authorization'));
    if (!creds) throw challenge('log in with Basic credentials (user and password) to get a pull credential');
    const { narrow } = await passwords.check(creds.user, creds.password, request.ip, challenge);
    if (narrow) throw new RegistryError('DENIED', 'a pull credential or a robot cannot mint one: log in with the user\'s own password');
    const asked = query(request).get('lifetime');
    let seconds = DEFAULT_SECONDS;
    if (asked !== null) {
      try {
        seconds = durationMs(/^\d+$/.test(asked) ? Number(asked) : asked) / 1000;
      } catch (err) {
        throw new RegistryError('UNSUPPORTED', `lifetime: ${(err as Error).message}`, { status: 400 });
      }
    }
    const minted = pull.mint(creds.user, seconds);
    return reply
      .header('cache-control', 'no-store')
      .send({ username: creds.user, password: minted.password, expiresAt: minted.expiresAt.toISOString(), expiresIn: minted.expiresIn });
  });
}
