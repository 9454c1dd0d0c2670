/**
 * `berth credential-provider --config FILE`: a kubelet image credential provider plugin
 * (credentialprovider.kubelet.k8s.io/v1). The kubelet runs it with a CredentialProviderRequest on
 * standard input for each image its CredentialProviderConfig's matchImages select, and reads a
 * CredentialProviderResponse from standard output: here, a pull-only user of berth for berth's address
 * and for the upstream hosts nodes pull through berth (containerd mirror mode), cached by the kubelet
 * for cacheDuration. Any error: exit 1 with one line on standard error, as the kubelet expects.
 *
 * FILE (on the node, readable by root only): registries (berth's addresses as nodes pull from it),
 * mirrored (upstream hosts), username, passwordFile, cacheDuration (default 1h), and optionally
 * mint: { url, caFile }. With `mint`, the user and password are the node's bootstrap credential,
 * traded at <url>/_berth/pull-credentials for a pull-only password that expires after cacheDuration
 * (the kubelet is told to cache it a little less, so no pull starts on an expiring one); without
 * it they are handed out as they are (a static user that berth's accessControl lets pull and
 * nothing else).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError, durationMs } from '../config/config.js';
import { parseImageRef } from '../webhook/reference.js';
import { canonicalHost, isHost } from '../mirror/names.js';

const API = 'credentialprovider.kubelet.k8s.io/v1';

export interface ProviderConfig {
  registries: string[];
  mirrored: string[];
  username: string;
  password: string;
  cacheDuration: string;
  /** Where to trade the credential for a minted pull credential (berth's URL as the node reaches it). */
  mint?: { url: string; ca?: Buffer };
}

/** How long the kubelet may wait on the plugin is its own business; berth answers in far less. */
const MINT_TIMEOUT_MS = 10_000;

export async function readProviderConfig(file: string): Promise<ProviderConfig> {
  let raw: Record<string, unknown>;
  try {
    raw = (parseYaml(await readFile(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  const strings = (k: string, need: boolean): string[] => {
    const v = raw[k] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !isHost(x))) throw new ConfigError(`${file}: ${k}: a list of registry hosts`);
    if (need && v.length === 0) throw new ConfigError(`${file}: ${k}: at least one`);
    return (v as string[]).map(canonicalHost);
  };
  for (const k of Object.keys(raw)) if (!['registries', 'mirrored', 'username', 'passwordFile', 'cacheDuration', 'mint'].includes(k)) throw new ConfigError(`${file}: ${k}: unknown key`);
  if (typeof raw.username !== 'string' || raw.username === '') throw new ConfigError(`${file}: username: required`);
  if (typeof raw.passwordFile !== 'string') throw new ConfigError(`${file}: passwordFile: required`);
  const cacheDuration = typeof raw.cacheDuration === 'string' ? raw.cacheDuration : '1h';
  try {
    durationMs(cacheDuration);
  } catch (err) {
    throw new ConfigError(`${file}: cacheDuration: ${(err as Error).message}`);
  }
  const password = (await readFile(raw.passwordFile, 'utf8').catch((err: Error) => Promise.reject(new ConfigError(`${file}: passwordFile: ${err.message}`)))).trim();
  const c: ProviderConfig = { registries: strings('registries', true), mirrored: strings('mirrored', false), username: raw.username, password, cacheDuration };
  if (raw.mint !== undefined) c.mint = await mintConfig(raw.mint, file);
  return c;
}

async function mintConfig(v: unknown, file: string): Promise<NonNullable<ProviderConfig['mint']>> {
  const m = (v ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!['url', 'caFile'].includes(k)) throw new ConfigError(`${file}: mint.${k}: unknown key`);
  if (typeof m.url !== 'string' || !/^https?:\/\/[^/]+\/?$/.test(m.url)) throw new ConfigError(`${file}: mint.url: berth's base URL, such as http://127.0.0.1:30003`);
  if (m.caFile === undefined) return { url: m.url.replace(/\/$/, '') };
  if (typeof m.caFile !== 'string') throw new ConfigError(`${file}: mint.caFile: a path`);
  const ca = await readFile(m.caFile).catch((err: Error) => Promise.reject(new ConfigError(`${file}: mint.caFile: ${err.message}`)));
  return { url: m.url.replace(/\/$/, ''), ca };
}

/** The kubelet caches a minted credential this much less than it lives: 5 minutes, or a tenth of short lives. */
function cacheMargin(ms: number): number {
  return Math.min(300_000, Math.floor(ms / 10));
}

/** Trades the configured credential for a pull-only password that lives `lifetimeMs`. */
export function mintPassword(c: ProviderConfig, lifetimeMs: number): Promise<string> {
  const m = c.mint!;
  const url = new URL(`${m.url}/_berth/pull-credentials?lifetime=${Math.ceil(lifetimeMs / 1000)}`);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const auth = Buffer.from(`${c.username}:${c.password}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Basic ${auth}` }, timeout: MINT_TIMEOUT_MS, ...(m.ca ? { ca: m.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: { password?: unknown; errors?: { message?: string }[] } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          // said below
        }
        if (res.statusCode === 200 && typeof body.password === 'string') return resolve(body.password);
        reject(new Error(`berth at ${m.url} refused a pull credential: ${res.statusCode} ${body.errors?.[0]?.message ?? text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${MINT_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(new Error(`berth at ${m.url} could not be reached for a pull credential: ${err.message}`)));
    req.end();
  });
}

/** kubelet's duration format (Go's time.Duration): 1h0m0s. */
function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m${s % 60}s`;
}

/**
 * The CredentialProviderResponse for a request's body, with `password` for every host (the
 * configured one, or one minted for this response); throws with the one line to print.
 */
export async function respond(body: string, c: ProviderConfig, mint = mintPassword): Promise<Record<string, unknown>> {
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(body) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`the request is not JSON: ${(err as Error).message}`);
  }
  if (req?.apiVersion !== API || req.kind !== 'CredentialProviderRequest') throw new Error(`expected a CredentialProviderRequest of apiVersion ${API}`);
  if (typeof req.image !== 'string') throw new Error('the request has no image');
  const ref = parseImageRef(req.image);
  if (!ref) throw new Error(`not an image reference: ${req.image.slice(0, 200)}`);
  const hosts = [...c.registries, ...c.mirrored];
  if (!hosts.includes(ref.host)) throw new Error(`${ref.host} is neither berth (${c.registries.join(', ')}) nor an upstream it mirrors: check matchImages`);
  let lifetime = durationMs(c.cacheDuration);
  let password = c.password;
  if (c.mint) {
    password = await mint(c, lifetime);
    lifetime -= cacheMargin(lifetime);
  }
  const auth = Object.fromEntries(hosts.map((h) => [h, { username: c.username, password }]));
  return { apiVersion: API, kind: 'CredentialProviderResponse', cacheKeyType: 'Registry', cacheDuration: goDuration(lifetime), auth };
}

export async function credentialProvider(file: string): Promise<number> {
  try {
    const c = await readProviderConfig(file);
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    process.stdout.write(`${JSON.stringify(await respond(Buffer.concat(chunks).toString('utf8'), c))}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`berth credential-provider: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
