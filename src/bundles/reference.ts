/**
 * Image references in bundles (`quay.io/kairos/core:v1`, `alpine:3.20`, `name@sha256:...`), read the
 * way Docker reads them (a first component with a `.` or `:`, or `localhost`, is a registry host;
 * otherwise the host is docker.io), and the local repository each lands in.
 */
import { RegistryError } from '../oci/errors.js';
import { tryParseDigest } from '../oci/digest.js';
import { DOCKER_HUB, MirrorNames } from '../mirror/names.js';

export interface ImageReference {
  host: string;
  path: string;
  tag?: string;
  digest?: string;
}

export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!tryParseDigest(digest)) throw new RegistryError('NAME_INVALID', `invalid digest in reference ${ref}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const out: ImageReference = { host: hasHost ? first : DOCKER_HUB, path: hasHost ? rest.slice(slash + 1) : rest };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** Where a bundle's image lands: `<prefix>/<host>/<path>` (docker.io names normalised). */
export function localRepository(ref: ImageReference, prefix: string): string {
  return new MirrorNames(prefix, []).local(ref.host, ref.path);
}
