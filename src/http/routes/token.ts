/**
 * GET /auth/token (distribution token spec) and POST /auth/token (its OAuth2 form: grant_type
 * password or refresh_token, `access_type=offline` for a refresh token). Registered only when the
 * token service is on.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import { parseBasic } from '../../auth/basic.js';
import type { Authenticated, TokenService } from '../../auth/token-service.js';
import { header, query } from '../request.js';
import { sendError } from '../errors.js';

const FORM_LIMIT = 64 * 1024;

export async function tokenRoutes(app: FastifyInstance, service: TokenService): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err, request, reply) => {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') reply.header('WWW-Authenticate', `Basic realm="${service.service}"`);
      return sendError(request, reply, err);
    });

    scope.get('/auth/token', async (request: FastifyRequest, reply: FastifyReply) => {
      const q = query(request);
      const creds = parseBasic(header(request, 'authorization'));
      if (creds === null) throw new RegistryError('UNAUTHORIZED', 'malformed Basic credentials');
      const who = await service.login(creds?.user, creds?.password, request.ip);
      const offline = q.get('offline_token') === 'true';
      return reply.send(await service.token(who, q.getAll('scope'), q.get('service') ?? undefined, offline));
    });

    scope.post('/auth/token', async (request: FastifyRequest, reply: FastifyReply) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
      const svc = form.get('service') ?? undefined;
      const grant = form.get('grant_type');
      let who: Authenticated;
      if (grant === 'password') {
        who = await service.login(form.get('username') ?? '', form.get('password') ?? '', request.ip);
      } else if (grant === 'refresh_token') {
        who = await service.fromRefresh(form.get('refresh_token') ?? '');
      } else {
        throw new RegistryError('UNSUPPORTED', `unsupported grant_type: ${String(grant).slice(0, 40)}`, { status: 400 });
      }
      const body = await service.token(who, scopes, svc, form.get('access_type') === 'offline');
      if (grant === 'refresh_token') body.refresh_token ??= form.get('refresh_token') ?? undefined;
      return reply.send(body);
    });
  });
}
