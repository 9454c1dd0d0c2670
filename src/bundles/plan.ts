/** What an import works with: the images a bundle names and the manifests it will put. */
import { digestBytes } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Platform } from '../oci/platforms.js';

/** One image of the bundle: where it goes and its top manifest. */
export interface BundleImage {
  repository: string;
  tag?: string;
  digest: string;
  mediaType?: string;
}

export interface Node {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** An index kept with these platforms' children only (import --platform, or the bundle says so). */
  platforms?: Platform[];
}

/** A manifest the import writes itself (docker save archives carry none). */
export function madeManifest(manifest: object): Node {
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { digest: digestBytes(bytes, 'sha256').value, mediaType: MT.ociManifest, bytes };
}
