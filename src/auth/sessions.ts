/**
 * Web sessions (the UI's login): an opaque random id in an HttpOnly cookie, mapped here to the user
 * and a CSRF token. A session ends on logout, when it expires (absolute lifetime), or when its user
 * is no longer in the htpasswd file. Kept in memory: a restart logs everyone out, which for a single
 * registry process is the safe direction. Memory is bounded: past `max` the oldest session goes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  /** Sent back in the X-Berth-CSRF header on every state-changing API request. */
  csrf: string;
  expiresAt: number;
}

export class SessionStore {
  /** Insertion order is creation order: the first entry is the oldest. */
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly ttlMs: number,
    /** Whether the user may still log in (removed users' sessions end at once). */
    private readonly userExists: (user: string) => Promise<boolean>,
    private readonly max = 10_000,
  ) {}

  create(user: string, now = Date.now()): Session {
    if (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    const s: Session = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(18).toString('base64url'), expiresAt: now + this.ttlMs };
    this.sessions.set(s.id, s);
    return s;
  }

  async get(id: string | undefined, now = Date.now()): Promise<Session | undefined> {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= now || !(await this.userExists(s.user))) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
