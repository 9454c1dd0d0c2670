/**
 * Web sessions (the UI's login): an opaque random id in an HttpOnly cookie, mapped to the user and a
 * CSRF token. A session ends on logout, when it expires (absolute lifetime), or when its user is no
 * longer in the htpasswd file. Kept in this process by default (a restart logs everyone out, which
 * for a single registry process is the safe direction; memory is bounded: past `max` the oldest
 * session goes), or where every replica serving the store finds them (index/pg-auth.ts): a login
 * through one replica is a login on all, a logout on one a logout everywhere.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  /** Sent back in the X-Berth-CSRF header on every state-changing API request. */
  csrf: string;
  expiresAt: number;
}

/** Where sessions are kept. */
export interface SessionTable {
  put(s: Session): Promise<void>;
  get(id: string): Promise<Session | undefined>;
  delete(id: string): Promise<void>;
}

/** This process's sessions; insertion order is creation order, so the first entry is the oldest. */
export class MemorySessions implements SessionTable {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly max = 10_000) {}

  async put(s: Session): Promise<void> {
    if (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(s.id, s);
  }

  async get(id: string): Promise<Session | undefined> {
    return this.sessions.get(id);
  }

  async delete(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}

export class SessionStore {
  constructor(
    readonly ttlMs: number,
    /** Whether the user may still log in (removed users' sessions end at once). */
    private readonly userExists: (user: string) => Promise<boolean>,
    private readonly table: SessionTable = new MemorySessions(),
  ) {}

  async create(user: string, now = Date.now()): Promise<Session> {
    const s: Session = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(18).toString('base64url'), expiresAt: now + this.ttlMs };
    await this.table.put(s);
    return s;
  }

  async get(id: string | undefined, now = Date.now()): Promise<Session | undefined> {
    if (!id) return undefined;
    const s = await this.table.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= now || !(await this.userExists(s.user))) {
      await this.table.delete(id);
      return undefined;
    }
    return s;
  }

  async end(id: string | undefined): Promise<void> {
    if (id) await this.table.delete(id);
  }
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
