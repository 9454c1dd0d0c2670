/**
 * Who is calling. Two gates with one shape: Basic (RFC 7617, users from htpasswd) and Bearer (RFC 6750,
 * tokens from berth's token service). An absent Authorization header is the anonymous caller; a
 * present but wrong one is refused, never silently anonymous.
 */
import { RegistryError } from '../oci/errors.js';
import { parseBasic } from './basic.js';
import type { Htpasswd } from './htpasswd.js';
import type { Principal } from './policy.js';
import type { AccessEntry, TokenIssuer } from './tokens.js';
import { LoginLimiter } from './limiter.js';
import { PasswordCheck } from './passwords.js';
import type { PullCredentials } from './pull-credentials.js';
import { Robots, type Narrowing } from './robots.js';

export interface Caller {
  principal: Principal;
  /** Whether credentials were presented at all (an anonymous token counts). */
  presented: boolean;
  /** What a bearer token grants; undefined under Basic, where the policy alone decides. */
  grants?: AccessEntry[];
  /** Whose access policy applies when it is not the principal's own: a robot's owner. */
  actingAs?: string;
  /** Narrower than that policy: a minted pull credential (reads only), a robot (its scopes). */
  narrow?: Narrowing;
}

export interface Gate {
  /** `client`: the caller's address, for failed-login limits. */
  identify(authorization: string | undefined, client?: string): Promise<Caller>;
  /**
   * 401 with the challenge that tells a client how to authenticate (for `scope` when given); `host`
   * is the request's Host, for a token realm when no external URL is configured.
   */
  unauthorized(message?: string, scope?: string, host?: string): RegistryError;
}

export class BasicGate implements Gate {
  private readonly passwords: PasswordCheck;

  constructor(
    users: Htpasswd,
    readonly realm: string,
    limiter = new LoginLimiter(),
    pull?: PullCredentials,
    robots?: Robots,
  ) {
    this.passwords = new PasswordCheck(users, limiter, pull, robots);
  }

  unauthorized(message = 'authentication required'): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': `Basic realm="${quote(this.realm)}"` } });
  }

  async identify(authorization: string | undefined, client?: string): Promise<Caller> {
    const creds = parseBasic(authorization);
    if (creds === undefined) return { principal: undefined, presented: false };
    const login = await this.passwords.check(creds?.user, creds?.password ?? '', client, (m) => this.unauthorized(m));
    const caller: Caller = { principal: creds!.user, presented: true };
    if (login.actingAs !== creds!.user) caller.actingAs = login.actingAs;
    if (login.narrow) caller.narrow = login.narrow;
    return caller;
  }
}

export class BearerGate implements Gate {
  constructor(
    private readonly tokens: TokenIssuer,
    /** The token endpoint clients are sent to (<externalUrl>/auth/token); else built from the Host. */
    readonly realm: string | undefined,
    /** Robot accounts: a token issued to one stops working the moment it is revoked. */
    private readonly robots?: Robots,
  ) {}

  unauthorized(message = 'authentication required', scope?: string, host?: string): RegistryError {
    const realm = this.realm ?? `http://${host ?? 'localhost'}/auth/token`;
    let challenge = `Bearer realm="${quote(realm)}",service="${quote(this.tokens.settings.service)}"`;
    if (scope) challenge += `,scope="${quote(scope)}"`;
    return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
  }

  async identify(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined) return { principal: undefined, presented: false };
    const m = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i.exec(authorization); // RFC 6750 §2.1
    if (!m) throw this.unauthorized('a bearer token is required');
    let t;
    try {
      t = await this.tokens.verify(m[1]!);
    } catch {
      throw this.unauthorized('invalid or expired token');
    }
    const caller: Caller = { principal: t.subject, presented: true, grants: t.access };
    if (Robots.isRobot(t.subject)) {
      // its grants were narrowed when it was issued; the owner's policy still applies, while the robot lives
      const owner = await this.robots?.ownerIfValid(t.subject!);
      if (owner === undefined) throw this.unauthorized('this robot account was revoked or has expired');
      caller.actingAs = owner;
    }
    return caller;
  }
}

function quote(s: string): string {
  return s.replace(/["\\]/g, '');
}
