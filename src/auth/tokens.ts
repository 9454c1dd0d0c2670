/**
 * The Docker registry token service's tokens (distribution "Token Authentication Specification",
 * "Token Authentication Implementation"): JWTs signed with ES256 or RS256 (jose) that carry only the
 * access actually granted. The signing key is configured, or made once under <root>/auth/.
 */
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readOrCreate } from './key-file.js';
import { SignJWT, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';

/** One entry of the token's `access` claim (token spec "Requesting a Token"). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenSettings {
  issuer: string;
  service: string;
  /** Seconds an access token lives (default 300). */
  expiresIn: number;
  /** Seconds a refresh token lives (default 30 days). */
  refreshExpiresIn: number;
}

export interface VerifiedToken {
  subject: string | undefined;
  access: AccessEntry[];
}

/** Clock skew tolerated between berth processes or a token's issuer and its verifier. */
const SKEW_SECONDS = 30;

/** A new ES256 (P-256) private key, PEM (PKCS#8). */
export async function newKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return exportPKCS8(privateKey);
}

async function loadOrCreateKey(path: string, create: boolean): Promise<KeyObject> {
  return createPrivateKey(await readOrCreate(path, create ? newKeyPem : undefined));
}

export class TokenIssuer {
  private constructor(
    private readonly key: KeyObject,
    private readonly publicKey: KeyObject,
    readonly alg: 'ES256' | 'RS256',
    readonly settings: TokenSettings,
  ) {}

  /** `keyFile`: a PEM private key (P-256 EC or RSA); made (ES256) when `generate` and absent. */
  static async open(keyFile: string, generate: boolean, settings: TokenSettings): Promise<TokenIssuer> {
    return TokenIssuer.withKey(await loadOrCreateKey(keyFile, generate), keyFile, settings);
  }

  /** A key every replica shares (PEM), from where they keep it (`from` names that place in errors). */
  static fromPem(pem: string, from: string, settings: TokenSettings): TokenIssuer {
    return TokenIssuer.withKey(createPrivateKey(pem), from, settings);
  }

  private static withKey(key: KeyObject, from: string, settings: TokenSettings): TokenIssuer {
    const alg = key.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256';
    if (alg === 'ES256' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`${from}: the token key must be RSA or EC P-256`);
    }
    return new TokenIssuer(key, createPublicKey(key), alg, settings);
  }

  async issue(subject: string | undefined, access: AccessEntry[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: this.alg, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.service)
      .setSubject(subject ?? '')
      .setIssuedAt(now)
      .setNotBefore(now - SKEW_SECONDS)
      .setExpirationTime(now + this.settings.expiresIn)
      .setJti(randomUUID())
      .sign(this.key);
    return { token, expiresIn: this.settings.expiresIn, issuedAt: new Date(now * 1000).toISOString() };
  }

  async issueRefresh(subject: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ use: 'refresh' })
      .setProtectedHeader({ alg: this.alg, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setAudience(`${this.settings.service}#refresh`)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.refreshExpiresIn)
      .setJti(randomUUID())
      .sign(this.key);
  }

  /** Signature (this key, this algorithm only: `alg: none` and foreign keys fail), issuer, audience, expiry. */
  async verify(token: string): Promise<VerifiedToken> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: [this.alg],
      issuer: this.settings.issuer,
      audience: this.settings.service,
      clockTolerance: SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
    });
    const access = Array.isArray(payload.access) ? (payload.access as AccessEntry[]) : [];
    return { subject: payload.sub ? payload.sub : undefined, access };
  }

  async verifyRefresh(token: string): Promise<string> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: [this.alg],
      issuer: this.settings.issuer,
      audience: `${this.settings.service}#refresh`,
      clockTolerance: SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
    });
    if (payload.use !== 'refresh' || !payload.sub) throw new Error('not a refresh token');
    return payload.sub;
  }
}

/** Parses `repository:NAME:pull,push` and `registry:catalog:*` scopes (token spec "Token Scope"). */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1).split(',').filter((a) => a !== '');
  if (!name || actions.length === 0) return undefined;
  return { type, name, actions };
}
