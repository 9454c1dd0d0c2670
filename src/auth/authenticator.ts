/**
 * Who is calling, from Basic credentials checked against htpasswd. An absent Authorization header
 * is the anonymous caller; a present but wrong one is refused (never silently anonymous).
 */
import { RegistryError } from '../oci/errors.js';
import { parseBasic } from './basic.js';
import type { Htpasswd } from './htpasswd.js';
import type { Principal } from './policy.js';

export class Authenticator {
  constructor(
    private readonly users: Htpasswd,
    readonly realm: string,
  ) {}

  challenge(): string {
    return `Basic realm="${this.realm.replace(/["\\]/g, '')}"`;
  }

  unauthorized(message = 'authentication required'): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': this.challenge() } });
  }

  async principal(authorization: string | undefined): Promise<Principal> {
    const creds = parseBasic(authorization);
    if (creds === undefined) return undefined;
    if (creds === null || !(await this.users.verify(creds.user, creds.password))) {
      throw this.unauthorized('invalid username or password');
    }
    return creds.user;
  }
}
