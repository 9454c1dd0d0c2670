/**
 * Platforms as a site names them (`linux/amd64`, `linux/arm64/v8`) and which children of an image
 * index they keep. image-spec "Image Index": each entry of `manifests` may carry `platform` {os,
 * architecture, variant}; a name without a variant matches every variant of its architecture.
 * Attestation manifests (BuildKit's, `vnd.docker.reference.type: attestation-manifest`, platform
 * unknown/unknown) go with the child their `vnd.docker.reference.digest` names, as referrers do.
 */
import { RegistryError } from './errors.js';
import type { Descriptor } from './manifest.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new RegistryError('NAME_INVALID', `platform "${s.slice(0, 80)}": write it as os/architecture[/variant], such as linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

function matches(want: Platform, have: unknown): boolean {
  if (typeof have !== 'object' || have === null) return false;
  const h = have as Record<string, unknown>;
  return h.os === want.os && h.architecture === want.architecture && (want.variant === undefined || h.variant === want.variant);
}

/**
 * The children of an index the platforms keep (their digests): those of a listed platform, and the
 * attestations of those. Children that name no platform and attest nothing are kept too: they are not
 * platform images (an artifact index's entries), so a platform filter has no say over them.
 */
export function keptChildren(children: readonly Descriptor[], platforms: readonly Platform[]): Set<string> {
  const kept = new Set<string>();
  for (const c of children) {
    const attests = c.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
    if (attests) continue;
    if (c.platform === undefined || platforms.some((p) => matches(p, c.platform))) kept.add(c.digest);
  }
  for (const c of children) {
    const of = c.annotations?.['vnd.docker.reference.digest'];
    if (c.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' && of && kept.has(of)) kept.add(c.digest);
  }
  return kept;
}
