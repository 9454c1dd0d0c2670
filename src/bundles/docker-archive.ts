/**
 * `docker save` archives (the format before Docker 25, as skopeo's docker-archive: writes it):
 * manifest.json lists each image's config file, layer files and RepoTags. berth stores each image as
 * an OCI manifest over the same bytes: the config as is, every layer as an uncompressed (or gzip)
 * OCI layer, so layer digests equal the config's diff_ids. Archives from Docker 25 and later carry
 * an OCI index.json and are read as layouts instead.
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';
import { digestBytes, parseDigest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { BundleFiles } from './load.js';
import { madeManifest, type BundleImage, type Node } from './plan.js';

interface Entry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

function refused(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `bundle refused: ${message}`);
}

async function storeLayer(files: BundleFiles, store: BlobStore, path: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const named = /^blobs\/(sha256)\/([a-f0-9]{64})$/.exec(path);
  let digest: string;
  let size: number;
  let head: Buffer;
  if (named && files.blobs.has(`sha256:${named[2]}`)) {
    digest = `sha256:${named[2]}`;
    const blob = await store.open(parseDigest(digest));
    if (!blob) throw refused(`layer ${path} is missing`);
    size = blob.size;
    head = Buffer.alloc(2);
    await blob.read(head, 2, 0);
    await blob.close();
  } else {
    const first = await files.open(path);
    if (!first) throw refused(`layer ${path} is not in the archive`);
    const h = createHash('sha256');
    size = 0;
    head = Buffer.alloc(0);
    for await (const c of first) {
      if (head.length < 2) head = Buffer.concat([head, (c as Buffer).subarray(0, 2)]);
      h.update(c as Buffer);
      size += (c as Buffer).length;
    }
    digest = `sha256:${h.digest('hex')}`;
    await store.ingest((await files.open(path))!, parseDigest(digest), size);
    files.blobs.add(digest);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  return { mediaType: gzip ? `${OCI_LAYER}+gzip` : OCI_LAYER, digest, size };
}

export async function dockerArchiveImages(
  files: BundleFiles,
  store: BlobStore,
  nameOf: (name: string | undefined, i: number) => { repository: string; tag?: string },
): Promise<{ images: BundleImage[]; manifests: Node[] } | undefined> {
  const raw = await files.read('manifest.json');
  if (!raw) return undefined;
  let entries: Entry[];
  try {
    entries = JSON.parse(raw.toString('utf8'));
  } catch {
    throw refused('manifest.json is not valid JSON');
  }
  if (!Array.isArray(entries)) throw refused('manifest.json is not a list');
  const images: BundleImage[] = [];
  const manifests: Node[] = [];
  for (const [i, e] of entries.entries()) {
    const config = typeof e.Config === 'string' ? await files.read(e.Config) : undefined;
    if (!config) throw refused(`image ${i}: config ${String(e.Config)} is not in the archive`);
    const cd = digestBytes(config, 'sha256');
    await store.ingest([config], cd, config.length);
    files.blobs.add(cd.value);
    const layers = [];
    for (const path of e.Layers ?? []) layers.push(await storeLayer(files, store, path));
    const node = madeManifest({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: OCI_CONFIG, digest: cd.value, size: config.length }, layers });
    manifests.push(node);
    const names = e.RepoTags && e.RepoTags.length > 0 ? e.RepoTags : [undefined];
    for (const name of names) images.push({ ...nameOf(name, i), digest: node.digest, mediaType: node.mediaType });
  }
  return { images, manifests };
}
