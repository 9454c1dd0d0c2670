/**
 * A small registry client for the black-box suite: fetch, with Basic credentials and the Docker
 * token flow (401 + `WWW-Authenticate: Bearer realm=...` → GET the realm → retry with the token).
 */
export interface ClientOptions {
  url: string;
  user?: string;
  password?: string;
}

export interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T>(): T;
}

export type Body = Buffer | string | { chunked: Buffer[] };

export interface Init {
  headers?: Record<string, string>;
  body?: Body;
}

function parseChallenge(h: string): { scheme: string; params: Record<string, string> } {
  const scheme = h.split(' ', 1)[0]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const m of h.slice(scheme.length).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return { scheme, params };
}

export class Client {
  readonly base: string;
  private readonly basic?: string;
  private readonly tokens = new Map<string, string>();

  constructor(opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    if (opts.user !== undefined) this.basic = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
  }

  /** Absolute URL of a path or of a Location the registry returned (relative or absolute). */
  resolve(pathOrUrl: string): string {
    return new URL(pathOrUrl, `${this.base}/`).toString();
  }

  async request(method: string, path: string, init: Init = {}): Promise<Res> {
    const url = this.resolve(path);
    const scopeKey = repoOf(new URL(url).pathname) ?? '';
    const first = await this.send(method, url, init, this.tokens.get(scopeKey) ?? this.basic);
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate');
    if (!challenge) return first;
    const { scheme, params } = parseChallenge(challenge);
    if (scheme === 'bearer' && params.realm) {
      const token = await this.token(params.realm, params.service, params.scope);
      if (!token) return first;
      this.tokens.set(scopeKey, `Bearer ${token}`);
      return this.send(method, url, init, `Bearer ${token}`);
    }
    return first;
  }

  private async token(realm: string, service?: string, scope?: string): Promise<string | undefined> {
    const u = new URL(realm);
    if (service) u.searchParams.set('service', service);
    if (scope) u.searchParams.set('scope', scope);
    const r = await fetch(u, { headers: this.basic ? { authorization: this.basic } : {} });
    if (!r.ok) return undefined;
    const j = (await r.json()) as { token?: string; access_token?: string };
    return j.token ?? j.access_token;
  }

  private async send(method: string, url: string, init: Init, auth?: string): Promise<Res> {
    const headers: Record<string, string> = { ...init.headers };
    if (auth) headers.authorization = auth;
    let body: RequestInit['body'];
    let duplex: 'half' | undefined;
    if (init.body !== undefined && typeof init.body === 'object' && 'chunked' in init.body) {
      const parts = init.body.chunked;
      // A stream body has no length: fetch sends it with Transfer-Encoding: chunked.
      body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of parts) c.enqueue(new Uint8Array(p));
          c.close();
        },
      });
      duplex = 'half';
    } else if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : new Uint8Array(init.body);
    }
    const r = await fetch(url, { method, headers, body, duplex, redirect: 'follow' } as RequestInit);
    const buf = Buffer.from(await r.arrayBuffer());
    return { status: r.status, headers: r.headers, body: buf, text: () => buf.toString('utf8'), json: <T>() => JSON.parse(buf.toString('utf8')) as T };
  }
}

/** `/v2/<name>/...` → name, for caching one token per repository. */
function repoOf(path: string): string | undefined {
  const m = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//.exec(path);
  return m?.[1];
}
