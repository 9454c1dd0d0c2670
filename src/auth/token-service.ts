/**
 * The token service's use case (distribution token spec "Requesting a Token", and its OAuth2 form):
 * check the credentials, grant the intersection of the requested scopes and the caller's policy, and
 * sign. A token never carries more than was both asked for and allowed.
 */
import { RegistryError } from '../oci/errors.js';
import { isValidName } from '../oci/names.js';
import type { Htpasswd } from './htpasswd.js';
import type { AccessPolicy, Principal, RepoAction } from './policy.js';
import { LoginLimiter } from './limiter.js';
import { PasswordCheck } from './passwords.js';
import type { PullCredentials } from './pull-credentials.js';
import type { Narrowing, Robots } from './robots.js';
import { parseScope, type AccessEntry, type TokenIssuer } from './tokens.js';

export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
  scope?: string;
}

const FOR: Record<string, RepoAction[]> = { pull: ['read'], push: ['create', 'update'], delete: ['delete'] };

/** Who logged in: the token's subject, whose policy applies, and what narrows it (a token never widens it). */
export interface Authenticated {
  principal: Principal;
  /** A robot's owner; else the principal. */
  actingAs?: string;
  /** A minted pull credential's or a robot's narrowing. */
  narrow?: Narrowing;
}

export class TokenService {
  private readonly passwords: PasswordCheck;

  constructor(
    readonly issuer: TokenIssuer,
    private readonly users: Htpasswd,
    private readonly policy: AccessPolicy,
    limiter = new LoginLimiter(),
    pull?: PullCredentials,
    robots?: Robots,
  ) {
    this.passwords = new PasswordCheck(users, limiter, pull, robots);
  }

  get service(): string {
    return this.issuer.settings.service;
  }

  /** An undefined principal for anonymous; throws UNAUTHORIZED for wrong credentials. */
  async login(user: string | undefined, password: string | undefined, client?: string): Promise<Authenticated> {
    if (user === undefined) return { principal: undefined };
    const login = await this.passwords.check(user, password ?? '', client);
    return { principal: user, actingAs: login.actingAs, ...(login.narrow ? { narrow: login.narrow } : {}) };
  }

  async fromRefresh(refreshToken: string): Promise<Authenticated> {
    try {
      const user = await this.issuer.verifyRefresh(refreshToken);
      if (!(await this.users.has(user))) throw new Error('user removed');
      return { principal: user };
    } catch {
      throw new RegistryError('UNAUTHORIZED', 'invalid refresh token');
    }
  }

  /**
   * The access to sign: each requested action the policy allows `actingAs` (the principal, or a
   * robot's owner; `*` means every action held), and of those what `narrow` allows.
   */
  grant(actingAs: Principal, scopes: string[], narrow?: Narrowing): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      const e = parseScope(s);
      if (!e) continue;
      if (e.type === 'repository' && isValidName(e.name)) {
        const wanted = e.actions.includes('*') ? ['pull', 'push', 'delete'] : e.actions;
        const granted = wanted.filter((a) => (FOR[a] ?? []).some((r) => this.policy.allowed(actingAs, e.name, r) && (narrow?.allows(e.name, r) ?? true)));
        out.push({ type: 'repository', name: e.name, actions: [...new Set(granted)] });
      } else if (e.type === 'registry' && e.name === 'catalog' && actingAs !== undefined) {
        out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    return out;
  }

  async token(who: Authenticated, scopes: string[], service: string | undefined, offline: boolean): Promise<TokenResponse> {
    const { principal, narrow } = who;
    if (service !== undefined && service !== this.service) {
      throw new RegistryError('UNSUPPORTED', `this token service issues tokens for ${this.service}, not ${service}`, { status: 400 });
    }
    const access = this.grant(who.actingAs ?? principal, scopes, narrow);
    const t = await this.issuer.issue(principal, access);
    const body: TokenResponse = { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt };
    const granted = access.filter((a) => a.actions.length > 0).map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`);
    if (granted.length) body.scope = granted.join(' ');
    // a refresh token would outlive a minted credential's expiry or a robot's revocation: none for those
    if (offline && principal !== undefined && !narrow) body.refresh_token = await this.issuer.issueRefresh(principal);
    return body;
  }
}

