/**
 * Short-lived pull-only passwords that berth mints for a user who logged in (the kubelet credential
 * provider trades a node's bootstrap credential for one): stateless, so every replica accepts what
 * any of them minted, and nothing is stored per credential.
 *
 *   berth-pull.v1.<expiry, unix seconds>.<HMAC-SHA256(key, "v1\0<user>\0<expiry>"), base64url>
 *
 * The user name is signed in, so a password works only with the name it was minted for; it can only
 * narrow that user's access (reads the policy allows), and it dies with the user (removed from
 * htpasswd) or at its expiry, whichever comes first. The key is made once: under <root>/auth/, or
 * where replicas share the store, once for all of them in the metadata database.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readOrCreate } from './key-file.js';

const PREFIX = 'berth-pull.v1.';

export type PullCheck = { ok: true } | { ok: false; reason: 'expired' | 'invalid' };

export class PullCredentials {
  constructor(
    private readonly key: Buffer,
    /** The longest lifetime a caller may ask for, in seconds. */
    readonly maxSeconds: number,
  ) {}

  /** Whether `password` has the minted shape (and so is never checked against htpasswd). */
  static isMinted(password: string): boolean {
    return password.startsWith(PREFIX);
  }

  /** A key made once: a file under the store's root, or (replicas) a secret shared through the index. */
  static async key(file: string, shared?: (name: string, make: () => Promise<string>) => Promise<string>): Promise<Buffer> {
    const make = async () => randomBytes(32).toString('base64');
    const text = shared ? await shared('pull-credential-key', make) : await readOrCreate(file, make);
    return Buffer.from(text.trim(), 'base64');
  }

  /** A password for `user` that expires `seconds` from now (at most maxSeconds). */
  mint(user: string, seconds: number, now = Date.now()): { password: string; expiresAt: Date; expiresIn: number } {
    const expiresIn = Math.max(1, Math.min(Math.floor(seconds), this.maxSeconds));
    const expiry = Math.floor(now / 1000) + expiresIn;
    return { password: `${PREFIX}${expiry}.${this.sign(user, expiry)}`, expiresAt: new Date(expiry * 1000), expiresIn };
  }

  check(user: string, password: string, now = Date.now()): PullCheck {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(password.slice(PREFIX.length));
    if (!PullCredentials.isMinted(password) || !m) return { ok: false, reason: 'invalid' };
    const expiry = Number(m[1]);
    const want = Buffer.from(this.sign(user, expiry));
    const got = Buffer.from(m[2]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'invalid' };
    // no clock skew allowed: only berth verifies these, and a replica's clock is the cluster's
    return expiry * 1000 > now ? { ok: true } : { ok: false, reason: 'expired' };
  }

  private sign(user: string, expiry: number): string {
    return createHmac('sha256', this.key).update(`v1\0${user}\0${expiry}`).digest('base64url');
  }
}
