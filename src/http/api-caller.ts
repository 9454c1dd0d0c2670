/**
 * Who calls an /api/ endpoint: a script with an Authorization header (Basic or Bearer, checked by the
 * registry's own gate), or a browser with the web UI's session cookie; else anonymous. A browser's
 * state-changing request must also carry the session's CSRF token in X-Berth-CSRF (the cookie is
 * SameSite=Strict as well), so another site cannot make a logged-in browser delete or upload.
 * API refusals carry no WWW-Authenticate challenge: a browser would answer one with its own dialog.
 */
import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../oci/errors.js';
import type { Caller } from '../auth/authenticator.js';
import { csrfMatches, type Session, type SessionStore } from '../auth/sessions.js';
import type { AuthDeps } from './authorize.js';
import { header } from './request.js';

export const SESSION_COOKIE = 'berth_session';

export interface ApiAuth {
  /** Absent: auth is off, every caller may do everything. */
  auth?: AuthDeps;
  /** The web UI's sessions, when the UI is on. */
  sessions?: SessionStore;
}

export interface ApiCaller extends Caller {
  session?: Session;
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: `name=value` pairs joined by `; `). */
export function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function apiCaller(a: ApiAuth, request: FastifyRequest): Promise<ApiCaller> {
  if (!a.auth) return { principal: undefined, presented: false };
  const authorization = header(request, 'authorization');
  if (authorization !== undefined) {
    try {
      return await a.auth.gate.identify(authorization, request.ip);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') throw new RegistryError('UNAUTHORIZED', err.message);
      throw err;
    }
  }
  const session = await a.sessions?.get(cookieValue(request, SESSION_COOKIE));
  if (!session) return { principal: undefined, presented: false };
  if (!SAFE.has(request.method) && !csrfMatches(session, header(request, 'x-berth-csrf'))) {
    throw new RegistryError('DENIED', 'missing or wrong X-Berth-CSRF header for this session');
  }
  return { principal: session.user, presented: true, session };
}

/** Administrators only (accessControl.adminPolicy); anyone when auth is off. */
export async function requireAdmin(a: ApiAuth, request: FastifyRequest): Promise<ApiCaller> {
  const caller = await apiCaller(a, request);
  if (!a.auth) return caller;
  if (!caller.presented) throw new RegistryError('UNAUTHORIZED', 'log in first');
  if (!a.auth.policy.isAdmin(caller.principal)) throw new RegistryError('DENIED', `${caller.principal ?? 'anonymous'} is not an administrator`);
  return caller;
}
