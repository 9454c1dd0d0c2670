/** Pulling and deleting blobs (distribution-spec v1.1 "Pulling blobs", "Deleting Blobs"). */
import { RegistryError } from '../oci/errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type { BlobStore, OpenBlob } from '../storage/blobstore.js';
import type { BlobLinkIndex } from '../index/metadata.js';
import type { RegistryOptions } from './registry.js';

export class BlobService {
  constructor(
    private readonly store: BlobStore,
    private readonly index: BlobLinkIndex,
    private readonly options: RegistryOptions,
  ) {}

  /** A blob is readable in a repository only once pushed or mounted there. */
  private async linked(repo: string, digest: string): Promise<Digest> {
    const d = parseDigest(digest);
    if (!(await this.index.blobLink(repo, d.value))) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${d.value}`);
    return d;
  }

  async stat(repo: string, digest: string): Promise<{ digest: Digest; size: number }> {
    const d = await this.linked(repo, digest);
    const s = await this.store.stat(d);
    if (!s) throw new RegistryError('BLOB_UNKNOWN', `blob content missing: ${d.value}`);
    return { digest: d, size: s.size };
  }

  async open(repo: string, digest: string): Promise<{ digest: Digest; blob: OpenBlob }> {
    const d = await this.linked(repo, digest);
    const blob = await this.store.open(d);
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob content missing: ${d.value}`);
    return { digest: d, blob };
  }

  /** Whether blob GETs are answered with a redirect to the store (redirect()). */
  get redirects(): boolean {
    return this.store.downloadUrl !== undefined;
  }

  /** Where the client may fetch the blob itself, when the store offers it (a 307's Location). */
  async redirect(repo: string, digest: string): Promise<{ digest: Digest; url: string }> {
    const d = await this.linked(repo, digest);
    const url = await this.store.downloadUrl?.(d);
    if (!url) throw new RegistryError('BLOB_UNKNOWN', `blob content missing: ${d.value}`);
    return { digest: d, url };
  }

  /** Unlinks the blob from the repository; its bytes stay until garbage collection. */
  async delete(repo: string, digest: string): Promise<void> {
    if (!this.options.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
    const d = parseDigest(digest);
    if (!(await this.index.unlinkBlob(repo, d.value))) throw new RegistryError('BLOB_UNKNOWN', `blob unknown: ${d.value}`);
  }
}
