/**
 * `berth mirror-config --registry HOST:PORT --upstream docker.io ...`: the containerd `hosts.toml`
 * files (one directory per upstream, as /etc/containerd/certs.d/<host>/ expects) that make a node pull
 * through berth. containerd then adds `?ns=<host>` to every request it sends to berth.
 *
 * With `--watch` the upstreams are berth's own (GET /_berth/mirror/hosts, asked every interval), and
 * the files follow them: a host added gets its file, a host gone loses the file berth wrote (files
 * berth did not write are never touched). Each file is written whole beside its place and renamed
 * over it, so containerd (or a crash) never sees half of one.
 */
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { writeAtomic } from './atomic-file.js';
import { ConfigError } from '../config/config.js';
import { canonicalHost, DOCKER_HUB, isHost } from '../mirror/names.js';

export interface MirrorConfigOptions {
  registry: string;
  upstreams: string[];
  /** Where the files go (a certs.d directory). */
  output: string;
  /** The CA file's path on the node, when berth serves TLS with a private CA. */
  ca?: string;
  /** http or https (default https when a CA is given, else http). */
  scheme?: string;
  /** Fall back to the upstream itself when berth cannot answer (default); off for air-gapped sites. */
  fallback: boolean;
  skipVerify?: boolean;
}

/** The upstream's own endpoint, as containerd would use without a mirror. */
function upstreamServer(host: string): string {
  return canonicalHost(host) === DOCKER_HUB ? 'https://registry-1.docker.io' : `https://${host}`;
}

const MARK = '# containerd hosts.toml written by berth mirror-config';

export function hostsToml(upstream: string, opts: Omit<MirrorConfigOptions, 'upstreams' | 'output'>): string {
  const scheme = opts.scheme ?? (opts.ca ? 'https' : 'http');
  const berth = `${scheme}://${opts.registry}`;
  const lines = [
    `${MARK}: pulls of ${upstream} go through berth`,
    `server = "${opts.fallback ? upstreamServer(upstream) : berth}"`,
    '',
    `[host."${berth}"]`,
    '  capabilities = ["pull", "resolve"]',
  ];
  if (opts.ca) lines.push(`  ca = "${opts.ca}"`);
  if (opts.skipVerify) lines.push('  skip_verify = true');
  return `${lines.join('\n')}\n`;
}

function checkTarget(opts: Pick<MirrorConfigOptions, 'registry' | 'scheme'>): void {
  if (!isHost(opts.registry) || !opts.registry.includes(':')) throw new ConfigError(`--registry: expected HOST:PORT, got ${opts.registry}`);
  if (opts.scheme && opts.scheme !== 'http' && opts.scheme !== 'https') throw new ConfigError(`--scheme: http or https, got ${opts.scheme}`);
}

const dirOf = (output: string, host: string) => join(output, canonicalHost(host) === DOCKER_HUB ? DOCKER_HUB : host);

export async function writeMirrorConfig(opts: MirrorConfigOptions): Promise<string[]> {
  checkTarget(opts);
  if (opts.upstreams.length === 0) throw new ConfigError('name at least one --upstream');
  const written: string[] = [];
  for (const u of opts.upstreams) {
    if (!isHost(u)) throw new ConfigError(`--upstream: not a registry host: ${u}`);
    const dir = dirOf(opts.output, u);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'hosts.toml');
    const text = hostsToml(u, opts);
    // unchanged files are left as they are: containerd re-reads a file whose time moved
    if ((await readFile(file, 'utf8').catch(() => undefined)) !== text) await writeAtomic(file, text);
    written.push(file);
  }
  return written;
}

/** Removes the hosts.toml files berth wrote for hosts not in `keep` (and their directories, once empty). */
export async function removeStale(output: string, keep: string[]): Promise<string[]> {
  const kept = new Set(keep.map((h) => dirOf(output, h)));
  const removed: string[] = [];
  for (const entry of await readdir(output, { withFileTypes: true }).catch(() => [])) {
    const dir = join(output, entry.name);
    if (!entry.isDirectory() || kept.has(dir)) continue;
    const file = join(dir, 'hosts.toml');
    if (!(await readFile(file, 'utf8').catch(() => '')).startsWith(MARK)) continue; // not ours
    await rm(file);
    await rmdir(dir).catch(() => undefined); // something else lives there too
    removed.push(file);
  }
  return removed;
}

export interface WatchOptions extends Omit<MirrorConfigOptions, 'upstreams'> {
  intervalMs: number;
  signal?: AbortSignal;
  /** One line per change or failure. */
  say(line: string): void;
}

/** Keeps `output` in step with berth's upstream hosts until `signal` aborts. */
export async function watchMirrorConfig(opts: WatchOptions): Promise<void> {
  checkTarget(opts);
  const scheme = opts.scheme ?? (opts.ca ? 'https' : 'http');
  const url = `${scheme}://${opts.registry}/_berth/mirror/hosts`;
  const ca = opts.ca ? await readFile(opts.ca) : undefined;
  const dispatcher = new Agent({ connect: { ...(ca ? { ca } : {}), ...(opts.skipVerify ? { rejectUnauthorized: false } : {}) }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  let last = '';
  try {
    while (!opts.signal?.aborted) {
      try {
        const r = await request(url, { dispatcher, signal: opts.signal });
        if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}`);
        const { hosts } = (await r.body.json()) as { hosts: string[] };
        const valid = hosts.filter((h) => isHost(h));
        const now = valid.join(',');
        if (now !== last) {
          const written = valid.length ? await writeMirrorConfig({ ...opts, upstreams: valid }) : [];
          const removed = await removeStale(opts.output, valid);
          opts.say(`berth mirrors ${valid.length ? valid.join(', ') : 'no upstream'}: ${written.length} files current${removed.length ? `, removed ${removed.join(', ')}` : ''}`);
          last = now;
        }
      } catch (err) {
        // berth away (restarting, the node's network not up yet): the files stay as they are
        if (!opts.signal?.aborted) opts.say(`${url}: ${(err as Error).message}; the files stay as they are`);
      }
      await new Promise((resolve) => {
        const t = setTimeout(resolve, opts.intervalMs);
        opts.signal?.addEventListener('abort', () => resolve(clearTimeout(t)), { once: true });
      });
    }
  } finally {
    await dispatcher.close();
  }
}
