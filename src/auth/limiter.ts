/**
 * Failed-login throttling: every failure is answered late (FAILURE_DELAY_MS), and a client address or
 * a user name with too many recent failures is refused outright with 429 TOOMANYREQUESTS until its
 * window passes, whatever the password. Memory is bounded: old entries are dropped.
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
const MAX_KEYS = 10_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly s: LimiterSettings = DEFAULT_LIMITS) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.s.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Throws 429 when the client or the user is over its limit (before any password is checked). */
  check(client: string | undefined, user: string | undefined): void {
    const now = Date.now();
    const overClient = client !== undefined && this.recent(`c:${client}`, now).length >= this.s.perClient;
    const overUser = user !== undefined && this.recent(`u:${user}`, now).length >= this.s.perUser;
    if (overClient || overUser) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins; try again later', {
        headers: { 'Retry-After': String(Math.ceil(this.s.windowMs / 1000)) },
      });
    }
  }

  /** Records a failure and waits before the answer goes out. */
  async failed(client: string | undefined, user: string | undefined): Promise<void> {
    const now = Date.now();
    if (this.failures.size > MAX_KEYS) this.failures.clear();
    for (const key of [client !== undefined ? `c:${client}` : undefined, user !== undefined ? `u:${user}` : undefined]) {
      if (key) this.failures.set(key, [...this.recent(key, now), now]);
    }
    await new Promise((r) => setTimeout(r, this.s.failureDelayMs));
  }
}
