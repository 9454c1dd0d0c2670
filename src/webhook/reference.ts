/**
 * Image references as pods write them, parsed with the Docker reference grammar (distribution's
 * `reference` package, reference.go and normalize.go) and normalised the way containerd and the
 * kubelet read them:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 *   domain    := host [ ":" port ]           (a first component with "." or ":", or "localhost")
 *
 * With no domain the image is Docker Hub's (`docker.io`), and a one-component Hub name is an official
 * image under `library/` (`nginx` is `docker.io/library/nginx`). A reference with neither tag nor
 * digest means `:latest`; one with both is pulled by its digest (the tag is kept as written).
 */
import { canonicalHost, DOCKER_HUB } from '../mirror/names.js';

export interface ImageRef {
  /** The registry host, lower case, Docker Hub's aliases as `docker.io`; with its port when given. */
  host: string;
  /** The repository path on that host (`library/nginx`). */
  repo: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** The grammar's limit on a whole name (domain and path). */
const NAME_MAX = 255;

/** The reference `s` names, or undefined when it is not a valid image reference. */
export function parseImageRef(s: string): ImageRef | undefined {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  // a tag follows the last ':' after the last '/' (a ':' before it is a port)
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (rest === '' || rest.length > NAME_MAX) return undefined;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  // distribution's rule (normalize.go, splitDockerDomain): the first component is a domain when it
  // has a '.' or a ':', or is localhost; an upper-case first component is also one (paths are lower case)
  const isDomain = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  let host = DOCKER_HUB;
  let path = rest;
  if (isDomain) {
    if (!DOMAIN.test(first)) return undefined;
    host = canonicalHost(first);
    path = rest.slice(slash + 1);
  }
  const parts = path.split('/');
  if (!parts.every((p) => COMPONENT.test(p))) return undefined;
  if (host === DOCKER_HUB && parts.length === 1) path = `library/${path}`;
  return { host, repo: path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `host/repo[:tag][@digest]`, the reference's normalised, fully qualified form. */
export function formatImageRef(r: ImageRef): string {
  return `${r.host}/${r.repo}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}
