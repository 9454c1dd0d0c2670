/**
 * The web UI's JSON API. Each endpoint asks the questions /v2/ asks, through the same gate and policy
 * (http/authorize.ts `permits`): listings show only what the caller may read, details need `read`,
 * deletes need `delete` (and storage.delete.enabled), like DELETE /v2/<name>/manifests/<reference>.
 * Errors are the registry's envelope. Anonymous callers may browse only where some anonymousPolicy
 * grants `read`; otherwise they are told to log in (401, without a challenge header).
 *
 *   GET|POST|DELETE /api/session     who am I / log in {username, password} / log out
 *   GET /api/projects                first path segments with repository counts and sizes
 *   GET /api/repositories            ?project=&q=&offset=&limit=   (project=_: names without a '/')
 *   GET /api/tags                    ?repository=&last=&n=
 *   GET|DELETE /api/image            ?repository=&reference=   (a tag or a digest)
 *   GET /api/storage                 blobs and bytes stored, garbage collection's state and last run
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import { checkName, isValidTag } from '../oci/names.js';
import { looksLikeDigest } from '../oci/digest.js';
import { permits } from '../http/authorize.js';
import { apiCaller, cookieValue, SESSION_COOKIE, type ApiAuth, type ApiCaller } from '../http/api-caller.js';
import { rememberPrincipal } from '../http/audit.js';
import { sendError } from '../http/errors.js';
import type { RepoAction } from '../auth/policy.js';
import type { UiDeps } from './ui.js';
import type { ImageResponse, ProjectsResponse, RepositoriesResponse, SessionInfo, TagsResponse } from './api-types.js';

interface Viewer {
  caller: ApiCaller;
  may(repo: string, action: RepoAction): boolean;
}

const page = {
  type: 'object',
  properties: {
    project: { type: 'string', maxLength: 255 },
    q: { type: 'string', maxLength: 255 },
    offset: { type: 'integer', minimum: 0, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
  additionalProperties: false,
} as const;
const tagsQuery = {
  type: 'object',
  required: ['repository'],
  properties: { repository: { type: 'string' }, last: { type: 'string', maxLength: 128 }, n: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
  additionalProperties: false,
} as const;
const imageQuery = {
  type: 'object',
  required: ['repository', 'reference'],
  properties: { repository: { type: 'string' }, reference: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;
const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', maxLength: 1024 } },
  additionalProperties: false,
} as const;

function reference(ref: string): string {
  if (!isValidTag(ref) && !looksLikeDigest(ref)) throw new RegistryError('MANIFEST_UNKNOWN', `not a tag or digest: ${ref.slice(0, 100)}`);
  return ref;
}

export async function apiRoutes(app: FastifyInstance, ui: UiDeps, a: ApiAuth): Promise<void> {
  const { registry } = ui;
  const anonymousMayRead = a.auth?.policy.anonymousMayRead() ?? true;

  async function viewer(request: FastifyRequest): Promise<Viewer> {
    const caller = await apiCaller(a, request);
    rememberPrincipal(request, caller.principal);
    const auth = a.auth;
    if (!auth) return { caller, may: () => true };
    if (!caller.presented && !anonymousMayRead) throw new RegistryError('UNAUTHORIZED', 'log in to browse this registry');
    return { caller, may: (repo, action) => permits(auth, caller, repo, action) };
  }

  /** The registry's answers for one repository: 401 for anonymous, DENIED for others. */
  function need(v: Viewer, repo: string, action: RepoAction): void {
    if (v.may(repo, action)) return;
    if (!v.caller.presented) throw new RegistryError('UNAUTHORIZED', `log in to ${action} ${repo}`);
    throw new RegistryError('DENIED', `${action} on ${repo} is not granted to ${v.caller.principal}`);
  }

  const canDelete = (v: Viewer, repo: string) => registry.options.deleteEnabled && v.may(repo, 'delete');

  function cookie(value: string, maxAge: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${ui.secureCookies ? '; Secure' : ''}`;
  }

  await app.register(async (api) => {
    api.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    api.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });

    api.get('/api/session', async (request) => {
      const caller = await apiCaller(a, request);
      return {
        auth: a.auth !== undefined,
        user: caller.principal ?? null,
        admin: !a.auth || (caller.presented && a.auth.policy.isAdmin(caller.principal)),
        csrf: caller.session?.csrf ?? null,
        anonymousRead: anonymousMayRead,
        deleteEnabled: registry.options.deleteEnabled,
      } satisfies SessionInfo;
    });

    api.post('/api/session', { schema: { body: loginBody }, bodyLimit: 4096 }, async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string };
      if (!a.auth || !ui.passwords || !a.sessions) throw new RegistryError('UNSUPPORTED', 'authentication is off: there is nothing to log in to');
      rememberPrincipal(request, username);
      // a session carries its user's whole access: a minted pull credential cannot open one
      if ((await ui.passwords.check(username, password, request.ip)).narrow) throw new RegistryError('DENIED', 'a pull credential or a robot account cannot log in to the web UI');
      const s = await a.sessions.create(username);
      reply.header('set-cookie', cookie(s.id, Math.floor(a.sessions.ttlMs / 1000)));
      return { user: username, admin: a.auth.policy.isAdmin(username), csrf: s.csrf, expiresAt: s.expiresAt };
    });

    api.delete('/api/session', async (request, reply) => {
      await a.sessions?.end(cookieValue(request, SESSION_COOKIE));
      reply.header('set-cookie', cookie('', 0));
      return reply.code(204).send();
    });

    api.get('/api/projects', async (request) => {
      const v = await viewer(request);
      return (await ui.browse.projects((repo) => v.may(repo, 'read'))) satisfies ProjectsResponse;
    });

    api.get('/api/repositories', { schema: { querystring: page } }, async (request) => {
      const v = await viewer(request);
      const q = request.query as { project?: string; q?: string; offset: number; limit: number };
      // `project=_`: the names without a '/' (no repository name can begin with '_')
      const res = await ui.browse.repositories({ ...q, ...(q.project === '_' ? { project: '' } : {}) }, (repo) => v.may(repo, 'read'));
      return { ...res, offset: q.offset, limit: q.limit } satisfies RepositoriesResponse;
    });

    api.get('/api/tags', { schema: { querystring: tagsQuery } }, async (request) => {
      const v = await viewer(request);
      const q = request.query as { repository: string; last?: string; n: number };
      const repo = checkName(q.repository);
      need(v, repo, 'read');
      const res = await ui.browse.tags(repo, { n: q.n, ...(q.last ? { last: q.last } : {}) });
      return { repository: repo, canDelete: canDelete(v, repo), ...res } satisfies TagsResponse;
    });

    api.get('/api/image', { schema: { querystring: imageQuery } }, async (request) => {
      const v = await viewer(request);
      const q = request.query as { repository: string; reference: string };
      const repo = checkName(q.repository);
      need(v, repo, 'read');
      const view = await ui.image.view(repo, reference(q.reference));
      const host = ui.registryHost ?? request.headers.host ?? 'localhost';
      const tag = isValidTag(q.reference) ? q.reference : view.tags[0];
      return {
        ...view,
        canDelete: canDelete(v, repo),
        pull: { ...(tag ? { byTag: `${host}/${repo}:${tag}` } : {}), byDigest: `${host}/${repo}@${view.digest}` },
      } satisfies ImageResponse;
    });

    api.delete('/api/image', { schema: { querystring: imageQuery } }, async (request, reply: FastifyReply) => {
      const v = await viewer(request);
      const q = request.query as { repository: string; reference: string };
      const repo = checkName(q.repository);
      need(v, repo, 'delete');
      // by tag: that tag only; by digest: the manifest and every tag on it (as DELETE /v2/ does)
      await registry.manifests.delete(repo, reference(q.reference));
      return reply.code(202).send({ deleted: { repository: repo, reference: q.reference } });
    });

    api.get('/api/storage', async (request) => {
      const v = await viewer(request);
      if (a.auth && !v.caller.presented) throw new RegistryError('UNAUTHORIZED', 'log in to see storage use');
      const gc = registry.gc;
      return {
        storage: await ui.storage(),
        gc: { ...ui.gcSchedule, running: gc.isRunning, last: gc.last ?? null, totals: gc.totals },
        mirrorCache: ui.mirrorCache ? await ui.mirrorCache() : null,
      };
    });
  });
}
