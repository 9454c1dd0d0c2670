/**
 * The audit trail: one line for every failed login, manifest push and delete, saying who, what and
 * from where. Lines carry `audit: true` so a log pipeline can split them off (issue 8 gives them a
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
  event: 'login-failed' | 'push' | 'delete';
  user?: string;
  client: string;
  repository?: string;
  reference?: string;
  digest?: string;
}

export function auditLine(request: FastifyRequest, reply: FastifyReply): AuditLine | undefined {
  const status = reply.statusCode;
  const path = rawPath(request);
  const base = { audit: true as const, client: request.ip, user: principals.get(request.raw) };
  if (status === 401 && request.headers.authorization !== undefined) return { ...base, event: 'login-failed' };
  if (path === '/api/session' && request.method === 'POST' && status === 401) return { ...base, event: 'login-failed' };
  if (path === '/api/image' && request.method === 'DELETE' && status === 202) {
    // the web UI's delete: the same event as DELETE /v2/<name>/manifests/<reference>
    const q = query(request);
    return { ...base, event: 'delete', repository: q.get('repository') ?? '', reference: q.get('reference') ?? '' };
  }
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const where = { repository: m[1]!, reference: decodeURIComponent(m[3]!) };
  if (request.method === 'PUT' && m[2] === 'manifests' && status === 201) {
    const digest = reply.getHeader('docker-content-digest');
    return { ...base, event: 'push', ...where, digest: typeof digest === 'string' ? digest : undefined };
  }
  if (request.method === 'DELETE' && status === 202) return { ...base, event: 'delete', ...where };
  return undefined;
}
