/**
 * Where mirrored content lives and how a request reaches it (issue 7): content of upstream `host`,
 * repository `repo`, is stored as `<prefix>/<host>/<repo>`. A request names it either with
 * containerd's `?ns=<host>` (mirror mode: `/v2/library/alpine/...?ns=docker.io`) or by that path
 * itself (path mode: `/v2/<prefix>/quay.io/kairos/core/...`).
 */
import { checkName } from '../oci/names.js';

export const DOCKER_HUB = 'docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** A registry host as clients write it: `name[.name...][:port]`, or `[v6]:port`. */
const HOST = /^(?:[a-z0-9]([a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;

export function isHost(s: string): boolean {
  return s.length <= 255 && HOST.test(s.toLowerCase());
}

/** Docker Hub's several names are one upstream. */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/**
 * A host as one path component of a repository name. Names may not hold `:` (distribution-spec
 * "Pulling manifests", the name grammar), and hosts never hold `_`, so `10.0.0.1:8000` is stored
 * as `10.0.0.1_8000` without ambiguity.
 */
export function hostComponent(host: string): string {
  return canonicalHost(host).replace(':', '_');
}

/** Docker Hub's official images live under `library/`: `alpine` is `library/alpine` there. */
export function upstreamRepo(host: string, repo: string): string {
  return canonicalHost(host) === DOCKER_HUB && !repo.includes('/') ? `library/${repo}` : repo;
}

/** The upstream repository a mirrored request reads. */
export interface Remote {
  /** The upstream's `host`, as configured. */
  host: string;
  repo: string;
}

export interface Resolved {
  /** The local repository that holds (or will hold) the content. */
  local: string;
  /** Set when the content may be fetched from a configured upstream. */
  remote?: Remote;
}

export class MirrorNames {
  private readonly byComponent = new Map<string, string>();

  constructor(
    readonly prefix: string,
    upstreamHosts: string[],
  ) {
    for (const h of upstreamHosts) this.byComponent.set(hostComponent(h), canonicalHost(h));
  }

  private hasUpstream(host: string): boolean {
    return this.byComponent.has(hostComponent(host));
  }

  /** `<prefix>/<host>/<repo>`, Docker Hub names normalised; a valid repository name or NAME_INVALID. */
  local(host: string, repo: string): string {
    const parts = [this.prefix, hostComponent(host), upstreamRepo(host, repo)].filter((p) => p !== '');
    return checkName(parts.join('/'));
  }

  /** From a request's repository name and its `?ns=` to where its content lives. */
  resolve(name: string, ns: string | null): Resolved {
    if (ns && isHost(ns)) {
      const host = canonicalHost(ns);
      const local = this.local(host, name);
      return this.hasUpstream(host) ? { local, remote: { host, repo: upstreamRepo(host, name) } } : { local };
    }
    const rest = this.prefix === '' ? name : name.startsWith(`${this.prefix}/`) ? name.slice(this.prefix.length + 1) : undefined;
    if (rest === undefined) return { local: name };
    const slash = rest.indexOf('/');
    if (slash < 0) return { local: name };
    const host = this.byComponent.get(rest.slice(0, slash));
    if (host === undefined) return { local: name };
    const repo = rest.slice(slash + 1);
    return { local: this.local(host, repo), remote: { host, repo: upstreamRepo(host, repo) } };
  }
}
