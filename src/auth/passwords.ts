/**
 * A password check against the htpasswd users, under the failed-login limits: what Basic auth, the
 * token service and the web UI's login all do before they trust a user name.
 */
import { RegistryError } from '../oci/errors.js';
import type { Htpasswd } from './htpasswd.js';
import { LoginLimiter } from './limiter.js';
import { PullCredentials } from './pull-credentials.js';

/** What a password that checked out allows: everything the policy gives its user, or only pulls. */
export interface Login {
  /** A minted pull credential (pull-credentials.ts): reads only, whatever the policy allows beyond. */
  pullOnly: boolean;
}

export class PasswordCheck {
  constructor(
    readonly users: Htpasswd,
    private readonly limiter = new LoginLimiter(),
    /** Set when berth mints pull credentials; without it a minted-looking password is just wrong. */
    readonly pull?: PullCredentials,
  ) {}

  /**
   * Resolves when `password` is `user`'s; throws UNAUTHORIZED (answered late) when it is not, and
   * TOOMANYREQUESTS when the client or the user has failed too often lately. `challenge` makes the
   * UNAUTHORIZED error a gate wants (with its WWW-Authenticate header).
   */
  async check(user: string | undefined, password: string, client: string | undefined, challenge?: (message: string) => RegistryError): Promise<Login> {
    await this.limiter.check(client, user);
    let refused = 'invalid username or password';
    if (user !== undefined && PullCredentials.isMinted(password)) {
      const minted = this.pull?.check(user, password);
      // a minted password dies with its user too
      if (minted?.ok && (await this.users.has(user))) return { pullOnly: true };
      if (minted && !minted.ok && minted.reason === 'expired') refused = 'this pull credential has expired: ask for a new one';
    } else if (user !== undefined && (await this.users.verify(user, password))) {
      return { pullOnly: false };
    }
    await this.limiter.failed(client, user);
    throw challenge ? challenge(refused) : new RegistryError('UNAUTHORIZED', refused);
  }
}
