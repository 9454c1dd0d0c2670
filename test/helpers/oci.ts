/** Builders of test content: blobs, image manifests, indexes, and the calls that push them. */
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Requester } from './registry.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
export function sha512(b: Buffer | string): string {
  return `sha512:${createHash('sha512').update(b).digest('hex')}`;
}

export interface Blob {
  bytes: Buffer;
  digest: string;
}

export function blob(size = 1024): Blob {
  const bytes = randomBytes(size);
  return { bytes, digest: sha256(bytes) };
}

export function desc(mediaType: string, b: { bytes: Buffer; digest: string }, extra: object = {}) {
  return { mediaType, digest: b.digest, size: b.bytes.length, ...extra };
}

export interface Manifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

export function manifestOf(obj: object, mediaType: string): Manifest {
  const bytes = Buffer.from(JSON.stringify(obj, null, 2)); // indented on purpose: served back byte for byte
  return { bytes, digest: sha256(bytes), mediaType };
}

export function imageManifest(config: Blob, layers: Blob[], extra: object = {}, mediaType = OCI_MANIFEST): Manifest {
  const docker = mediaType === DOCKER_MANIFEST;
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType,
      config: desc(docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', config),
      layers: layers.map((l) => desc(docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', l)),
      ...extra,
    },
    mediaType,
  );
}

export function indexOf(children: Manifest[], extra: object = {}, mediaType = OCI_INDEX): Manifest {
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({
        ...desc(c.mediaType, c),
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
      ...extra,
    },
    mediaType,
  );
}

export async function pushBlob(request: Requester, repo: string, b: Blob): Promise<void> {
  const r = await request('POST', `/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
    headers: { 'content-type': 'application/octet-stream' },
    body: b.bytes,
  });
  expect(r.status, r.body.toString()).toBe(201);
}

export async function pushManifest(request: Requester, repo: string, ref: string, m: Manifest) {
  const r = await request('PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': m.mediaType }, body: m.bytes });
  expect(r.status, r.body.toString()).toBe(201);
  return r;
}

/** Pushes a config and layers, then the manifest under `ref`. */
export async function pushImage(request: Requester, repo: string, ref: string, opts: { layers?: number; layerSize?: number; mediaType?: string; extra?: object } = {}) {
  const config = blob(200);
  const layers = Array.from({ length: opts.layers ?? 2 }, () => blob(opts.layerSize ?? 2048));
  for (const b of [config, ...layers]) await pushBlob(request, repo, b);
  const m = imageManifest(config, layers, opts.extra ?? {}, opts.mediaType ?? OCI_MANIFEST);
  await pushManifest(request, repo, ref, m);
  return { config, layers, manifest: m };
}

/** The spec's error envelope, and its first code. */
export function errorCode(r: { json<T>(): T; headers: Record<string, string> }): string {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = r.json<{ errors: { code: string; message: string }[] }>();
  expect(Array.isArray(body.errors)).toBe(true);
  expect(typeof body.errors[0]!.message).toBe('string');
  return body.errors[0]!.code;
}
