/**
 * A password check, under the failed-login limits: what Basic auth, the token service and the web
 * UI's login all do before they trust a user name. Three kinds of login: an htpasswd user's own
 * password; a pull credential berth minted for that user (pull-credentials.ts); a robot account's
 * secret (`robot$<name>`, robots.ts).
 */
import { RegistryError } from '../oci/errors.js';
import type { Htpasswd } from './htpasswd.js';
import { LoginLimiter } from './limiter.js';
import { PullCredentials } from './pull-credentials.js';
import { PULL_ONLY, Robots, narrowingOf, type Narrowing } from './robots.js';

/** What a password that checked out allows. */
export interface Login {
  /** Whose access policy applies: the user, or a robot's owner. */
  actingAs: string;
  /** Narrower than that policy: a minted pull credential reads only, a robot has its scopes. */
  narrow?: Narrowing;
}

export class PasswordCheck {
  constructor(
    readonly users: Htpasswd,
    private readonly limiter = new LoginLimiter(),
    /** Set when berth mints pull credentials; without it a minted-looking password is just wrong. */
    readonly pull?: PullCredentials,
    /** Set when robot accounts are on (with auth): `robot$<name>` logs in with its secret. */
    readonly robots?: Robots,
  ) {}

  /**
   * Resolves when `password` is `user`'s; throws UNAUTHORIZED (answered late) when it is not, and
   * TOOMANYREQUESTS when the client or the user has failed too often lately. `challenge` makes the
   * UNAUTHORIZED error a gate wants (with its WWW-Authenticate header).
   */
  async check(user: string | undefined, password: string, client: string | undefined, challenge?: (message: string) => RegistryError): Promise<Login> {
    await this.limiter.check(client, user);
    let refused = 'invalid username or password';
    if (user !== undefined && Robots.isRobot(user)) {
      const r = await this.robots?.check(user, password);
      if (r?.ok) return { actingAs: r.record.owner, narrow: narrowingOf(r.record) };
      if (r) refused = r.reason;
    } else if (user !== undefined && PullCredentials.isMinted(password)) {
      const minted = this.pull?.check(user, password);
      // a minted password dies with its user too
      if (minted?.ok && (await this.users.has(user))) return { actingAs: user, narrow: PULL_ONLY };
      if (minted && !minted.ok && minted.reason === 'expired') refused = 'this pull credential has expired: ask for a new one';
    } else if (user !== undefined && (await this.users.verify(user, password))) {
      return { actingAs: user };
    }
    await this.limiter.failed(client, user);
    throw challenge ? challenge(refused) : new RegistryError('UNAUTHORIZED', refused);
  }
}
