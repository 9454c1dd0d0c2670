/**
 * A client of one upstream registry (distribution-spec's pull endpoints) with the auth schemes
 * registries use: Basic, and the token flow of Docker Hub, quay.io and Harbor (a 401 names a realm;
 * a token for the scope is fetched there, with the credentials when given, and the request retried).
 * Credentials and tokens only ever go into request headers: they are never logged.
 */
import { readFileSync } from 'node:fs';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import { Breaker } from './breaker.js';
import { canonicalHost } from './names.js';

export interface UpstreamConfig {
  host: string;
  url: string;
  username?: string;
  password?: string;
  /** A YAML or JSON file `{username, password}` (a mounted Secret), read at start-up. */
  credentialsFile?: string;
  /** PEM file of the CA that signed the upstream's certificate. */
  ca?: string;
  /** Skip certificate verification (test setups only). */
  insecure?: boolean;
}

export interface UpstreamTiming {
  connectTimeoutMs: number;
  /** Until the response's headers arrive. */
  timeoutMs: number;
  /** Longest silence while a body streams. */
  bodyTimeoutMs: number;
  /** How long an unreachable upstream is left alone. */
  retryAfterMs: number;
}

/** The upstream could not be reached, or answered with an error that is not the content's absence. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
  /** The upstream answered that the content does not exist. */
  get notFound(): boolean {
    return this.status === 404;
  }
}

export type Response = Dispatcher.ResponseData;

interface Credentials {
  username: string;
  password: string;
}

function credentialsOf(cfg: UpstreamConfig): Credentials | undefined {
  if (cfg.credentialsFile) {
    const c = parseYaml(readFileSync(cfg.credentialsFile, 'utf8')) as Partial<Credentials> | null;
    if (typeof c?.username !== 'string' || typeof c.password !== 'string') {
      throw new Error(`${cfg.credentialsFile}: expected {username: ..., password: ...}`);
    }
    return { username: c.username, password: c.password };
  }
  if (cfg.username !== undefined) return { username: cfg.username, password: cfg.password ?? '' };
  return undefined;
}

/** `Bearer realm="...",service="...",scope="..."` -> its parameters (RFC 7235 auth-params). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header) ?? ['', '', ''];
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme: m[1]!.toLowerCase(), params };
}

export class Upstream {
  readonly host: string;
  readonly breaker: Breaker;
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  private readonly credentials: Credentials | undefined;
  private scheme: 'basic' | 'bearer' | undefined;
  private bearer: { realm: string; service?: string } | undefined;
  private readonly tokens = new Map<string, { token: string; until: number }>();
  /** Upstream requests made, by kind (metrics and tests). */
  readonly counts = { manifest: 0, blob: 0, token: 0, failures: 0 };

  constructor(cfg: UpstreamConfig, timing: UpstreamTiming) {
    this.host = canonicalHost(cfg.host);
    this.base = cfg.url.replace(/\/+$/, '');
    this.credentials = credentialsOf(cfg);
    this.breaker = new Breaker(timing.retryAfterMs);
    const agent = new Agent({
      connect: {
        timeout: timing.connectTimeoutMs,
        ...(cfg.ca ? { ca: readFileSync(cfg.ca) } : {}),
        ...(cfg.insecure ? { rejectUnauthorized: false } : {}),
      },
      headersTimeout: timing.timeoutMs,
      bodyTimeout: timing.bodyTimeoutMs,
    });
    // Registries redirect blob GETs to object storage; undici drops Authorization on a cross-origin hop.
    this.dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 5 }));
  }

  get url(): string {
    return this.base;
  }

  private authHeader(scope: string): string | undefined {
    if (this.scheme === 'basic' && this.credentials) {
      return `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    if (this.scheme === 'bearer') {
      const t = this.tokens.get(scope);
      if (t && t.until > Date.now()) return `Bearer ${t.token}`;
    }
    return undefined;
  }

  /** Answers a 401's challenge; false when retrying cannot help. */
  private async answer(challenge: string | undefined, scope: string): Promise<boolean> {
    const { scheme, params } = parseChallenge(challenge ?? '');
    if (scheme === 'basic') {
      if (!this.credentials || this.scheme === 'basic') return false;
      this.scheme = 'basic';
      return true;
    }
    if (scheme !== 'bearer' || !params.realm) return false;
    this.scheme = 'bearer';
    this.bearer = { realm: params.realm, service: params.service };
    await this.fetchToken(scope);
    return true;
  }

  private async fetchToken(scope: string): Promise<void> {
    const { realm, service } = this.bearer!;
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    this.counts.token++;
    const r = await this.send(url.toString(), 'GET', headers);
    const body = (await r.body.json().catch(() => ({}))) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (r.statusCode !== 200 || !token) throw new UpstreamError(`${this.host}: token service refused (HTTP ${r.statusCode})`, r.statusCode === 404 ? 502 : r.statusCode);
    // docker token spec: expires_in defaults to 60 s; renew a little early
    const ttl = Math.max(10, (body.expires_in ?? 60) - 10) * 1000;
    this.tokens.set(scope, { token, until: Date.now() + ttl });
  }

  private async send(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<Response> {
    try {
      const r = await request(url, { method, headers, dispatcher: this.dispatcher });
      this.breaker.succeeded();
      return r;
    } catch (err) {
      this.counts.failures++;
      this.breaker.failed();
      throw new UpstreamError(`${this.host} unreachable: ${(err as Error).message}`);
    }
  }

  /**
   * GET or HEAD of `/v2/<repo>/<what>`; authenticates when challenged. Resolves with any final HTTP
   * answer but a 401 (the caller reads the status); rejects when the upstream is unreachable or
   * its breaker is open.
   */
  async get(method: 'GET' | 'HEAD', repo: string, what: string, accept?: string): Promise<Response> {
    if (!this.breaker.allow()) throw new UpstreamError(`${this.host} is unreachable (retrying later)`);
    const scope = `repository:${repo}:pull`;
    const url = `${this.base}/v2/${repo}/${what}`;
    // Once the upstream is known to want tokens, a new scope's token is fetched before asking, saving the 401.
    if (this.scheme === 'bearer' && !this.authHeader(scope)) await this.fetchToken(scope);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      const auth = this.authHeader(scope);
      if (auth) headers.authorization = auth;
      const r = await this.send(url, method, headers);
      if (r.statusCode !== 401 || attempt > 0) return r;
      await r.body.dump();
      if (!(await this.answer(r.headers['www-authenticate'] as string | undefined, scope))) return r;
    }
  }

  /** Upstream tags of `repo`, following `Link` pages (distribution-spec "Listing Tags"). */
  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let what = 'tags/list?n=1000';
    for (let page = 0; page < 1000; page++) {
      const r = await this.get('GET', repo, what);
      if (r.statusCode !== 200) {
        await r.body.dump();
        throw new UpstreamError(`${this.host}/${repo}: tags/list answered HTTP ${r.statusCode}`, r.statusCode);
      }
      const body = (await r.body.json()) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = /<[^>]*\/tags\/list(\?[^>]*)>/.exec(String(r.headers.link ?? ''));
      if (!link) return out;
      what = `tags/list${link[1]}`;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}
