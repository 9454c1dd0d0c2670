/**
 * One manifest as the UI shows it in a list: digest, type, total size and, for an index, its
 * platforms (image-spec "Image Index": manifests[].platform). Sizes are what a pull transfers: the
 * manifest, its config and layers; an index adds up the children stored here.
 */
import { MT, manifestKind } from '../oci/mediatypes.js';
import type { CachedManifest } from '../registry/manifest-cache.js';
import type { Registry } from '../registry/registry.js';
import type { ImageSummary } from './api-types.js';

export interface PlatformJson {
  os?: string;
  architecture?: string;
  variant?: string;
}

export interface DescriptorJson {
  mediaType?: string;
  digest?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: PlatformJson;
}

export interface ManifestJson {
  mediaType?: string;
  artifactType?: string;
  config?: DescriptorJson;
  layers?: DescriptorJson[];
  manifests?: DescriptorJson[];
  subject?: DescriptorJson;
  annotations?: Record<string, string>;
}

export function manifestJson(bytes: Buffer): ManifestJson {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as ManifestJson) : {};
  } catch {
    return {};
  }
}

/** `linux/arm64/v8`; undefined for the `unknown/unknown` entries build attestations use. */
export function platformName(p: PlatformJson | undefined): string | undefined {
  if (!p?.os || !p.architecture || (p.os === 'unknown' && p.architecture === 'unknown')) return undefined;
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Configs of runnable images (image-spec "Image Configuration"; Docker's container config). */
export const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Manifest + config + layers of an image manifest. */
export function imageBytes(m: CachedManifest, json = manifestJson(m.bytes)): number {
  return m.record.size + num(json.config?.size) + (json.layers ?? []).reduce((n, l) => n + num(l.size), 0);
}

export async function imageSummary(registry: Registry, repo: string, m: CachedManifest): Promise<ImageSummary> {
  const json = manifestJson(m.bytes);
  const s: ImageSummary = { digest: m.record.digest, mediaType: m.record.mediaType, size: 0, pushedAt: m.record.pushedAt };
  if (m.record.artifactType !== undefined && m.record.artifactType !== MT.ociEmpty && !IMAGE_CONFIG_TYPES.has(m.record.artifactType)) s.artifactType = m.record.artifactType;
  if (manifestKind(m.record.mediaType) !== 'index') {
    s.size = imageBytes(m, json);
    return s;
  }
  s.size = m.record.size;
  s.platforms = [];
  for (const child of json.manifests ?? []) {
    const name = platformName(child.platform);
    if (name) s.platforms.push(name);
    const stored = typeof child.digest === 'string' ? await registry.manifests.find(repo, child.digest) : undefined;
    s.size += stored && manifestKind(stored.record.mediaType) === 'image' ? imageBytes(stored) : num(child.size);
  }
  return s;
}
