/**
 * Pulling, pushing and deleting manifests (distribution-spec v1.1 "Pulling manifests", "Pushing
 * Manifests", "Deleting tags", "Deleting Manifests"). Manifest bytes live in the blob store under
 * their digest and are served back byte for byte with the media type they were pushed with.
 */
import { RegistryError } from '../oci/errors.js';
import { digestBytes, looksLikeDigest, parseDigest, type Digest } from '../oci/digest.js';
import { isValidTag } from '../oci/names.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import type { BlobStore, OpenBlob } from '../storage/blobstore.js';
import type { ManifestRecord, MetadataIndex } from '../index/metadata.js';
import type { KeyedMutex } from './locks.js';
import type { RegistryOptions } from './registry.js';

export type Reference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

/** Parses `<reference>`: a digest (DIGEST_INVALID when malformed) or a tag (undefined when invalid). */
export function parseReference(ref: string): Reference | undefined {
  if (looksLikeDigest(ref)) return { kind: 'digest', digest: parseDigest(ref) };
  return isValidTag(ref) ? { kind: 'tag', tag: ref } : undefined;
}

export class ManifestService {
  constructor(
    private readonly store: BlobStore,
    private readonly index: MetadataIndex,
    private readonly options: RegistryOptions,
    private readonly locks: KeyedMutex,
  ) {}

  private async unknown(repo: string, ref: string): Promise<RegistryError> {
    if (!(await this.index.repositoryExists(repo))) return new RegistryError('NAME_UNKNOWN', `repository unknown: ${repo}`);
    return new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${ref.slice(0, 140)}`);
  }

  /** The manifest a reference names (HEAD needs no bytes). */
  async resolve(repo: string, ref: string): Promise<ManifestRecord> {
    const r = parseReference(ref);
    if (!r) throw await this.unknown(repo, ref); // an invalid tag can name nothing
    const digest = r.kind === 'digest' ? r.digest.value : await this.index.tag(repo, r.tag);
    const record = digest === undefined ? undefined : await this.index.manifest(repo, digest);
    if (!record) throw await this.unknown(repo, ref);
    return record;
  }

  async open(repo: string, ref: string): Promise<{ record: ManifestRecord; blob: OpenBlob }> {
    const record = await this.resolve(repo, ref);
    const blob = await this.store.open(parseDigest(record.digest));
    if (!blob) throw new RegistryError('MANIFEST_UNKNOWN', `manifest content missing: ${record.digest}`);
    return { record, blob };
  }

  async put(repo: string, ref: string, contentType: string | undefined, bytes: Buffer): Promise<ManifestRecord> {
    const r = parseReference(ref);
    if (!r) throw new RegistryError('MANIFEST_INVALID', `invalid tag: ${ref.slice(0, 140)}`);
    if (bytes.length > this.options.maxManifestBytes) throw this.tooLarge();
    const digest = digestBytes(bytes, r.kind === 'digest' ? r.digest.algorithm : 'sha256');
    if (r.kind === 'digest' && r.digest.value !== digest.value) {
      throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest.value} does not match ${r.digest.value}`);
    }
    const parsed = parseManifest(bytes, contentType);
    return this.locks.run(repo, async () => {
      for (const b of parsed.blobs) {
        if (!(await this.index.blobLink(repo, b))) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob unknown to repository: ${b}`, { detail: { digest: b } });
        }
      }
      for (const m of parsed.manifests) {
        if (!(await this.index.manifest(repo, m))) {
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest unknown to repository: ${m}`, { detail: { digest: m } });
        }
      }
      await this.store.putBytes(bytes, digest);
      const record: ManifestRecord = {
        digest: digest.value,
        mediaType: parsed.mediaType,
        size: bytes.length,
        blobs: parsed.blobs,
        manifests: parsed.manifests,
        pushedAt: Date.now(),
      };
      if (parsed.subject) record.subject = parsed.subject.digest;
      if (parsed.artifactType !== undefined) record.artifactType = parsed.artifactType;
      if (parsed.annotations) record.annotations = parsed.annotations;
      await this.index.putManifest(repo, record, referrerDescriptor(record), r.kind === 'tag' ? r.tag : undefined);
      return record;
    });
  }

  tooLarge(): RegistryError {
    return new RegistryError('SIZE_INVALID', `manifest exceeds the ${this.options.maxManifestBytes}-byte limit`, { status: 413 });
  }

  /** By tag: removes that tag only. By digest: the manifest and every tag pointing at it. */
  async delete(repo: string, ref: string): Promise<void> {
    if (!this.options.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
    const r = parseReference(ref);
    if (!r) throw await this.unknown(repo, ref);
    await this.locks.run(repo, async () => {
      const done =
        r.kind === 'tag' ? await this.index.deleteTag(repo, r.tag) : await this.index.deleteManifest(repo, r.digest.value);
      if (!done) throw await this.unknown(repo, ref);
    });
  }
}

/** The descriptor a referrers response lists for this manifest (spec: "Listing Referrers"). */
function referrerDescriptor(record: ManifestRecord): Descriptor | undefined {
  if (!record.subject) return undefined;
  const d: Descriptor = { mediaType: record.mediaType, digest: record.digest, size: record.size };
  if (record.artifactType !== undefined) d.artifactType = record.artifactType;
  if (record.annotations) d.annotations = record.annotations;
  return d;
}
