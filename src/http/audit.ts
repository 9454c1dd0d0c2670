/**
 * The audit trail: one line for every failed login, manifest push and delete, and for every request
 * a robot account made (`robot$<name>`: machines' use is what an audit of API keys asks for), saying
 * who, what and from where. Lines carry `audit: true` so a log pipeline can split them off (issue 8 gives them a
 * stream of their own). Credentials never appear: only the user name the caller authenticated as.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { query, rawPath } from './request.js';

const principals = new WeakMap<IncomingMessage, string | undefined>();

export function rememberPrincipal(request: FastifyRequest, principal: string | undefined): void {
  principals.set(request.raw, principal);
}

export interface AuditLine {
  audit: true;
  event: 'login-failed' | 'push' | 'delete' | 'robot';
  /** A robot's request: its method, path and answer. */
  method?: string;
  path?: string;
  status?: number;
  user?: string;
  client: string;
  repository?: string;
  reference?: string;
  digest?: string;
}

export function auditLine(request: FastifyRequest, reply: FastifyReply): AuditLine | undefined {
  const user = principals.get(request.raw);
  const event = auditEvent(request, reply.statusCode) ?? (user?.startsWith('robot$') ? robotEvent(request, reply.statusCode) : undefined);
  if (!event) return undefined;
  // only now: request.ip asks the kernel for the peer's address. Key order as log readers know it.
  const line: AuditLine = { audit: true, client: request.ip, user, ...event };
  if (event.event === 'push') {
    const digest = reply.getHeader('docker-content-digest');
    line.digest = typeof digest === 'string' ? digest : undefined;
  }
  return line;
}

/** Which audited event a completed request was, if any (most are none: pulls are not audited). */
function auditEvent(request: FastifyRequest, status: number): Pick<AuditLine, 'event' | 'repository' | 'reference'> | undefined {
  const method = request.method;
  if (status === 401) {
    if (request.headers.authorization !== undefined) return { event: 'login-failed' };
    if (method === 'POST' && rawPath(request) === '/api/session') return { event: 'login-failed' };
    return undefined;
  }
  if (method !== 'PUT' && method !== 'DELETE') return undefined;
  const path = rawPath(request);
  if (path === '/api/image' && method === 'DELETE' && status === 202) {
    // the web UI's delete: the same event as DELETE /v2/<name>/manifests/<reference>
    const q = query(request);
    return { event: 'delete', repository: q.get('repository') ?? '', reference: q.get('reference') ?? '' };
  }
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const where = { repository: m[1]!, reference: decodeURIComponent(m[3]!) };
  if (method === 'PUT' && m[2] === 'manifests' && status === 201) return { event: 'push', ...where };
  if (method === 'DELETE' && status === 202) return { event: 'delete', ...where };
  return undefined;
}

/** Any request of a robot account that no other event covers (its pulls among them). */
function robotEvent(request: FastifyRequest, status: number): Pick<AuditLine, 'event' | 'repository' | 'method' | 'path' | 'status'> {
  const path = rawPath(request);
  const m = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\b/.exec(path);
  return { event: 'robot', ...(m ? { repository: m[1]! } : {}), method: request.method, path, status };
}
