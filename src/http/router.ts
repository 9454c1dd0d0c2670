/**
 * Routing of /v2/ (distribution-spec v1.1 "Endpoints", end-1 to end-13). Repository names contain
 * slashes, so one wildcard route hands every /v2/ request to this table, which matches the raw
 * path from its end (the name is everything before the last `/manifests/`, `/blobs/`, ...), then
 * validates the name before any handler runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import { checkName } from '../oci/names.js';
import { rawPath, query } from './request.js';
import type { Remote } from '../mirror/names.js';

/** distribution-spec "API Version Check": every response carries it (Docker-Distribution-API-Version). */
export const API_VERSION = 'registry/2.0';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/**
 * What a request does to its repository; the auth layer checks it. `push-manifest` is `create` for a
 * new tag or digest and `update` when it moves an existing tag.
 */
export type Action = 'pull' | 'push' | 'push-manifest' | 'delete' | 'catalog' | 'ping';

/** What the caller may do beyond the request's own repository (mount sources, catalog entries). */
export interface Access {
  principal: string | undefined;
  canRead(repo: string): boolean;
}

export const OPEN_ACCESS: Access = { principal: undefined, canRead: () => true };

export interface RouteContext {
  /** The repository name (validated), or '' for /v2/ and /v2/_catalog. */
  name: string;
  /** The last path segment (a reference, digest or session id), percent-decoded. */
  ref: string;
  query: URLSearchParams;
  access: Access;
  /** The upstream repository, when `name` is mirrored content (see mirror/names.ts). */
  remote?: Remote;
}

export type Handler = (request: FastifyRequest, reply: FastifyReply, ctx: RouteContext) => Promise<unknown>;

export interface RouteMethod {
  action: Action;
  handler: Handler;
}

/** The endpoint kinds, as logs and metrics label them (never the repository: low cardinality). */
export type RouteKind = 'base' | 'catalog' | 'tags' | 'referrers' | 'manifest' | 'blob' | 'upload';

export interface V2Route {
  kind: RouteKind;
  /** Matched against the raw path; group 1 is the name, group 2 (when present) the last segment. */
  pattern: RegExp;
  hasName: boolean;
  methods: Partial<Record<Method, RouteMethod>>;
}

export interface Matched {
  route: V2Route;
  method: RouteMethod;
  ctx: RouteContext;
}

/** What matching found, kept for the access log and metrics (even when the name is then refused). */
const matched = new WeakMap<IncomingMessage, { kind: RouteKind; repository?: string }>();

export function matchedRoute(request: FastifyRequest): { kind: RouteKind; repository?: string } | undefined {
  return matched.get(request.raw);
}

/** A low-cardinality route label (logs, metrics): the /v2/ endpoint kind matched, else the Fastify route. */
export function routeOf(request: FastifyRequest): string {
  const m = matched.get(request.raw);
  if (m) return m.kind;
  return rawPath(request).startsWith('/v2') ? 'other' : (request.routeOptions.url ?? 'unknown');
}

/** The query of every request that has none (most of them): nothing to parse, nothing to allocate. */
const NO_QUERY: URLSearchParams = new URLSearchParams();

export function match(routes: V2Route[], request: FastifyRequest): Matched {
  const path = rawPath(request);
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    matched.set(request.raw, route.hasName ? { kind: route.kind, repository: m[1]! } : { kind: route.kind });
    const name = route.hasName ? checkName(m[1]!) : '';
    const method = route.methods[request.method as Method];
    if (!method) throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on this endpoint`, { status: 405 });
    const last = route.hasName ? m[2] : m[1];
    let ref = '';
    if (last !== undefined) {
      try {
        ref = decodeURIComponent(last);
      } catch {
        throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the path');
      }
    }
    return { route, method, ctx: { name, ref, query: request.raw.url?.includes('?') ? query(request) : NO_QUERY, access: OPEN_ACCESS } };
  }
  throw new RegistryError('NAME_UNKNOWN', `no such endpoint: ${path.slice(0, 200)}`, { status: 404 });
}
