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

/** Who logged in, and whether with a minted pull credential (which a token never widens). */
export interface Authenticated {
  principal: Principal;
  pullOnly: boolean;
}

export class TokenService {
  private readonly passwords: PasswordCheck;

  constructor(
    readonly issuer: TokenIssuer,
    private readonly users: Htpasswd,
    private readonly policy: AccessPolicy,
    limiter = new LoginLimiter(),
    pull?: PullCredentials,
  ) {
    this.passwords = new PasswordCheck(users, limiter, pull);
  }

  get service(): string {
    return this.issuer.settings.service;
  }

  /** An undefined principal for anonymous; throws UNAUTHORIZED for wrong credentials. */
  async login(user: string | undefined, password: string | undefined, client?: string): Promise<Authenticated> {
    if (user === undefined) return { principal: undefined, pullOnly: false };
    const { pullOnly } = await this.passwords.check(user, password ?? '', client);
    return { principal: user, pullOnly };
  }

  async fromRefresh(refreshToken: string): Promise<Authenticated> {
    try {
      const user = await this.issuer.verifyRefresh(refreshToken);
      if (!(await this.users.has(user))) throw new Error('user removed');
      return { principal: user, pullOnly: false };
    } catch {
      throw new RegistryError('UNAUTHORIZED', 'invalid refresh token');
    }
  }

  /**
   * The access to sign: each requested action the policy allows (`*` means every action held), and
   * of those only `pull` for a minted pull credential.
   */
  grant(principal: Principal, scopes: string[], pullOnly = false): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      const e = parseScope(s);
      if (!e) continue;
      if (e.type === 'repository' && isValidName(e.name)) {
        const wanted = (e.actions.includes('*') ? ['pull', 'push', 'delete'] : e.actions).filter((a) => !pullOnly || a === 'pull');
        const granted = wanted.filter((a) => (FOR[a] ?? []).some((r) => this.policy.allowed(principal, e.name, r)));
        out.push({ type: 'repository', name: e.name, actions: [...new Set(granted)] });
      } else if (e.type === 'registry' && e.name === 'catalog' && principal !== undefined) {
        out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    return out;
  }

  async token(who: Authenticated, scopes: string[], service: string | undefined, offline: boolean): Promise<TokenResponse> {
    const { principal, pullOnly } = who;
    if (service !== undefined && service !== this.service) {
      throw new RegistryError('UNSUPPORTED', `this token service issues tokens for ${this.service}, not ${service}`, { status: 400 });
    }
    const access = this.grant(principal, scopes, pullOnly);
    const t = await this.issuer.issue(principal, access);
    const body: TokenResponse = { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt };
    const granted = access.filter((a) => a.actions.length > 0).map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`);
    if (granted.length) body.scope = granted.join(' ');
    // a refresh token would outlive a minted credential's expiry: none for those
    if (offline && principal !== undefined && !pullOnly) body.refresh_token = await this.issuer.issueRefresh(principal);
    return body;
  }
}

