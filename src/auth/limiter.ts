/**
 * Failed-login throttling: every failure is answered late (FAILURE_DELAY_MS), and a client address or
 * a user name with too many recent failures is refused outright with 429 TOOMANYREQUESTS until its
 * window passes, whatever the password. The failures are kept in this process (bounded: old entries
 * are dropped), or where every replica serving the store counts them (index/pg-auth.ts).
 */
import { RegistryError } from '../oci/errors.js';

export interface LimiterSettings {
  /** Failures allowed per client address within the window. */
  perClient: number;
  /** Failures allowed per user name within the window. */
  perUser: number;
  windowMs: number;
  failureDelayMs: number;
}

export const DEFAULT_LIMITS: LimiterSettings = { perClient: 20, perUser: 10, windowMs: 5 * 60_000, failureDelayMs: 300 };

/** Where failures are counted. */
export interface FailureLog {
  /** How many failures each key has had at or after `since`. */
  count(keys: string[], since: number): Promise<number[]>;
  /** Records a failure of each key at `at`; failures before `since` are no longer needed. */
  add(keys: string[], at: number, since: number): Promise<void>;
}

const MAX_KEYS = 10_000;

/** This process's failures. */
export class MemoryFailures implements FailureLog {
  private readonly failures = new Map<string, number[]>();

  private recent(key: string, since: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => t >= since);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  async count(keys: string[], since: number): Promise<number[]> {
    return keys.map((k) => this.recent(k, since).length);
  }

  async add(keys: string[], at: number, since: number): Promise<void> {
    if (this.failures.size > MAX_KEYS) this.failures.clear();
    for (const k of keys) this.failures.set(k, [...this.recent(k, since), at]);
  }
}

export class LoginLimiter {
  constructor(
    private readonly s: LimiterSettings = DEFAULT_LIMITS,
    private readonly log: FailureLog = new MemoryFailures(),
  ) {}

  private static keys(client: string | undefined, user: string | undefined): { client?: string; user?: string } {
    return { ...(client !== undefined ? { client: `c:${client}` } : {}), ...(user !== undefined ? { user: `u:${user}` } : {}) };
  }

  /** Throws 429 when the client or the user is over its limit (before any password is checked). */
  async check(client: string | undefined, user: string | undefined): Promise<void> {
    const k = LoginLimiter.keys(client, user);
    const keys = [k.client, k.user].filter((x): x is string => x !== undefined);
    if (keys.length === 0) return;
    const counts = await this.log.count(keys, Date.now() - this.s.windowMs + 1);
    const n = (key: string | undefined) => (key === undefined ? 0 : counts[keys.indexOf(key)]!);
    if (n(k.client) >= this.s.perClient || n(k.user) >= this.s.perUser) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins; try again later', {
        headers: { 'Retry-After': String(Math.ceil(this.s.windowMs / 1000)) },
      });
    }
  }

  /** Records a failure and waits before the answer goes out. */
  async failed(client: string | undefined, user: string | undefined): Promise<void> {
    const now = Date.now();
    const k = LoginLimiter.keys(client, user);
    const keys = [k.client, k.user].filter((x): x is string => x !== undefined);
    await Promise.all([this.log.add(keys, now, now - this.s.windowMs + 1), new Promise((r) => setTimeout(r, this.s.failureDelayMs))]);
  }
}
