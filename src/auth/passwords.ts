/**
 * A password check against the htpasswd users, under the failed-login limits: what Basic auth, the
 * token service and the web UI's login all do before they trust a user name.
 */
import { RegistryError } from '../oci/errors.js';
import type { Htpasswd } from './htpasswd.js';
import { LoginLimiter } from './limiter.js';

export class PasswordCheck {
  constructor(
    readonly users: Htpasswd,
    private readonly limiter = new LoginLimiter(),
  ) {}

  /**
   * Resolves when `password` is `user`'s; throws UNAUTHORIZED (answered late) when it is not, and
   * TOOMANYREQUESTS when the client or the user has failed too often lately. `challenge` makes the
   * UNAUTHORIZED error a gate wants (with its WWW-Authenticate header).
   */
  async check(user: string | undefined, password: string, client: string | undefined, challenge?: (message: string) => RegistryError): Promise<void> {
    await this.limiter.check(client, user);
    if (user === undefined || !(await this.users.verify(user, password))) {
      await this.limiter.failed(client, user);
      const message = 'invalid username or password';
      throw challenge ? challenge(message) : new RegistryError('UNAUTHORIZED', message);
    }
  }
}
