/**
 * Permission checks at the HTTP edge, before any handler runs (services trust their callers).
 * Every /v2/ endpoint is covered, not only /v2/ itself: containerd never pings.
 */
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import type { Caller, Gate } from '../auth/authenticator.js';
import type { AccessPolicy, RepoAction } from '../auth/policy.js';
import type { Registry } from '../registry/registry.js';
import { isValidTag } from '../oci/names.js';
import { header } from './request.js';
import type { Access, Action, RouteContext } from './router.js';

export interface AuthDeps {
  gate: Gate;
  policy: AccessPolicy;
}

/** The token spec's action for a repository action: pull, push or delete. */
export function dockerAction(a: RepoAction): string {
  return a === 'read' ? 'pull' : a === 'delete' ? 'delete' : 'push';
}

async function needed(action: Action, ctx: RouteContext, registry: Registry): Promise<RepoAction> {
  switch (action) {
    case 'pull':
      return 'read';
    case 'push':
      return 'create';
    case 'delete':
      return 'delete';
    case 'push-manifest': {
      // Pushing a new tag is `create`; moving an existing one is `update` (the reference's tag, or
      // any of the `?tag=` a push by digest names).
      const tags = [...(isValidTag(ctx.ref) ? [ctx.ref] : []), ...ctx.query.getAll('tag').filter(isValidTag)];
      for (const t of tags) if (await registry.manifests.hasTag(ctx.name, t)) return 'update';
      return 'create';
    }
    default:
      throw new Error(`no repository action for ${action}`);
  }
}

/**
 * Whether `caller` may do `need` on `repo`: the policy allows it and, for a bearer token, the token
 * grants it too, and a narrowed login (a minted pull credential, a robot's scopes) allows it. The web UI's API asks the same question.
 */
export function permits(auth: AuthDeps, caller: Caller, repo: string, need: RepoAction): boolean {
  const verb = dockerAction(need);
  const tokenGrants =
    caller.grants === undefined ||
    caller.grants.some((e) => e.type === 'repository' && e.name === repo && (e.actions.includes(verb) || e.actions.includes('*')));
  return tokenGrants && (caller.narrow?.allows(repo, need) ?? true) && auth.policy.allowed(caller.actingAs ?? caller.principal, repo, need);
}

export async function authorize(auth: AuthDeps, registry: Registry, request: FastifyRequest, action: Action, ctx: RouteContext): Promise<Access> {
  let caller;
  try {
    caller = await auth.gate.identify(header(request, 'authorization'), request.ip);
  } catch (err) {
    // a refused credential gets the challenge for this request's host
    if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') throw auth.gate.unauthorized(err.message, undefined, request.headers.host);
    throw err;
  }
  const { principal } = caller;
  const access: Access = { principal, canRead: (repo) => permits(auth, caller, repo, 'read') };
  if (action === 'catalog') return access; // filtered entry by entry
  if (action === 'ping') {
    // distribution-spec "API Version Check": 401 tells a client to log in (docker login relies on it).
    if (!caller.presented) throw auth.gate.unauthorized(undefined, undefined, request.headers.host);
    return access;
  }
  const need = await needed(action, ctx, registry);
  const verb = dockerAction(need);
  if (permits(auth, caller, ctx.name, need)) return access;
  const scope = `repository:${ctx.name}:${verb === 'push' ? 'pull,push' : verb}`;
  if (!caller.presented) throw auth.gate.unauthorized('authentication required', scope, request.headers.host);
  throw new RegistryError('DENIED', `${need} on ${ctx.name} is not granted to ${principal ?? 'anonymous'}`);
}
