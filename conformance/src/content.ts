/** Test content made on the spot: random blobs and the manifests that reference them. */
import { createHash, randomBytes } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const EMPTY_JSON = 'application/vnd.oci.empty.v1+json';

export interface Blob {
  bytes: Buffer;
  digest: string;
}

export function digest(b: Buffer | string, alg: 'sha256' | 'sha512' = 'sha256'): string {
  return `${alg}:${createHash(alg).update(b).digest('hex')}`;
}

export function blob(size: number): Blob {
  const bytes = randomBytes(size);
  return { bytes, digest: digest(bytes) };
}

export function emptyConfig(): Blob {
  return { bytes: Buffer.from('{}'), digest: digest('{}') };
}

export function descriptor(mediaType: string, b: Blob, extra: object = {}) {
  return { mediaType, digest: b.digest, size: b.bytes.length, ...extra };
}

export interface Manifest extends Blob {
  mediaType: string;
}

export function manifest(obj: object, mediaType: string): Manifest {
  const bytes = Buffer.from(JSON.stringify(obj, null, 3));
  return { bytes, digest: digest(bytes), mediaType };
}

export function image(config: Blob, layers: Blob[], extra: object = {}): Manifest {
  return manifest(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(OCI_CONFIG, config), layers: layers.map((l) => descriptor(OCI_LAYER, l)), ...extra },
    OCI_MANIFEST,
  );
}
