/**
 * `berth mirror-config --registry HOST:PORT --upstream docker.io ...` (issue 7): the containerd
 * `hosts.toml` files (one directory per upstream, as /etc/containerd/certs.d/<host>/ expects) that make
 * a node pull through berth. containerd then adds `?ns=<host>` to every request it sends to berth.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

export function hostsToml(upstream: string, opts: Omit<MirrorConfigOptions, 'upstreams' | 'output'>): string {
  const scheme = opts.scheme ?? (opts.ca ? 'https' : 'http');
  const berth = `${scheme}://${opts.registry}`;
  const lines = [
    `# containerd hosts.toml written by berth mirror-config: pulls of ${upstream} go through berth`,
    `server = "${opts.fallback ? upstreamServer(upstream) : berth}"`,
    '',
    `[host."${berth}"]`,
    '  capabilities = ["pull", "resolve"]',
  ];
  if (opts.ca) lines.push(`  ca = "${opts.ca}"`);
  if (opts.skipVerify) lines.push('  skip_verify = true');
  return `${lines.join('\n')}\n`;
}

export async function writeMirrorConfig(opts: MirrorConfigOptions): Promise<string[]> {
  if (!isHost(opts.registry) || !opts.registry.includes(':')) throw new ConfigError(`--registry: expected HOST:PORT, got ${opts.registry}`);
  if (opts.scheme && opts.scheme !== 'http' && opts.scheme !== 'https') throw new ConfigError(`--scheme: http or https, got ${opts.scheme}`);
  if (opts.upstreams.length === 0) throw new ConfigError('name at least one --upstream');
  const written: string[] = [];
  for (const u of opts.upstreams) {
    if (!isHost(u)) throw new ConfigError(`--upstream: not a registry host: ${u}`);
    const dir = join(opts.output, canonicalHost(u) === DOCKER_HUB ? DOCKER_HUB : u);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'hosts.toml');
    await writeFile(file, hostsToml(u, opts));
    written.push(file);
  }
  return written;
}
