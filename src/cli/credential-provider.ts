/**
 * `berth credential-provider --config FILE`: a kubelet image credential provider plugin
 * (credentialprovider.kubelet.k8s.io/v1). The kubelet runs it with a CredentialProviderRequest on
 * standard input for each image its CredentialProviderConfig's matchImages select, and reads a
 * CredentialProviderResponse from standard output: here, a pull-only user of berth for berth's address
 * and for the upstream hosts nodes pull through berth (containerd mirror mode), cached by the kubelet
 * for cacheDuration. Any error: exit 1 with one line on standard error, as the kubelet expects.
 *
 * FILE (on the node, readable by root only): registries (berth's addresses as nodes pull from it),
 * mirrored (upstream hosts), username, passwordFile, cacheDuration (default 1h). The user must be one
 * that berth's accessControl lets pull and nothing else.
 */
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
}

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
  for (const k of Object.keys(raw)) if (!['registries', 'mirrored', 'username', 'passwordFile', 'cacheDuration'].includes(k)) throw new ConfigError(`${file}: ${k}: unknown key`);
  if (typeof raw.username !== 'string' || raw.username === '') throw new ConfigError(`${file}: username: required`);
  if (typeof raw.passwordFile !== 'string') throw new ConfigError(`${file}: passwordFile: required`);
  const cacheDuration = typeof raw.cacheDuration === 'string' ? raw.cacheDuration : '1h';
  try {
    durationMs(cacheDuration);
  } catch (err) {
    throw new ConfigError(`${file}: cacheDuration: ${(err as Error).message}`);
  }
  const password = (await readFile(raw.passwordFile, 'utf8').catch((err: Error) => Promise.reject(new ConfigError(`${file}: passwordFile: ${err.message}`)))).trim();
  return { registries: strings('registries', true), mirrored: strings('mirrored', false), username: raw.username, password, cacheDuration };
}

/** kubelet's duration format (Go's time.Duration): 1h0m0s. */
function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m${s % 60}s`;
}

/** The CredentialProviderResponse for a request's body; throws with the one line to print. */
export function respond(body: string, c: ProviderConfig): Record<string, unknown> {
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
  const auth = Object.fromEntries(hosts.map((h) => [h, { username: c.username, password: c.password }]));
  return { apiVersion: API, kind: 'CredentialProviderResponse', cacheKeyType: 'Registry', cacheDuration: goDuration(durationMs(c.cacheDuration)), auth };
}

export async function credentialProvider(file: string): Promise<number> {
  try {
    const c = await readProviderConfig(file);
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    process.stdout.write(`${JSON.stringify(respond(Buffer.concat(chunks).toString('utf8'), c))}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`berth credential-provider: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}
