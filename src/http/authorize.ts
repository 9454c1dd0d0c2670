/**
 * Permission checks at the HTTP edge, before any handler runs (services trust their callers).
 * Every /v2/ endpoint is covered, not only /v2/ itself: containerd never pings.
 */
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { AccessPolicy, RepoAction } from '../auth/policy.js';
import type { Registry } from '../registry/registry.js';
import { isValidTag } from '../oci/names.js';
import { header } from './request.js';
import type { Access, Action, RouteContext } from './router.js';

export interface AuthDeps {
  authenticator: Authenticator;
  policy: AccessPolicy;
}

async function needed(action: Action, ctx: RouteContext, registry: Registry): Promise<RepoAction> {
  switch (action) {
    case 'pull':
      return 'read';
    case 'push':
      return 'create';
    case 'delete':
      return 'delete';
    case 'push-manifest':
      // Pushing a new tag is `create`; moving an existing one is `update`.
      return isValidTag(ctx.ref) && (await registry.manifests.hasTag(ctx.name, ctx.ref)) ? 'update' : 'create';
    default:
      throw new Error(`no repository action for ${action}`);
  }
}

export async function authorize(auth: AuthDeps, registry: Registry, request: FastifyRequest, action: Action, ctx: RouteContext): Promise<Access> {
  const principal = await auth.authenticator.principal(header(request, 'authorization'));
  const access: Access = { principal, canRead: (repo) => auth.policy.allowed(principal, repo, 'read') };
  if (action === 'catalog') return access; // filtered entry by entry
  if (action === 'ping') {
    // distribution-spec "API Version Check": 401 tells a client to log in (docker login relies on it).
    if (principal === undefined) throw auth.authenticator.unauthorized();
    return access;
  }
  const need = await needed(action, ctx, registry);
  if (!auth.policy.allowed(principal, ctx.name, need)) {
    if (principal === undefined) throw auth.authenticator.unauthorized();
    throw new RegistryError('DENIED', `${need} on ${ctx.name} is not allowed for ${principal}`);
  }
  return access;
}
