/**
 * Every stored blob, with whether the index links it: the blob store's ordered walk of digests merged
 * with the index's ordered walk of links (one snapshot, taken as the walk starts), a step of each per
 * blob, so neither memory nor index reads grow with the store. Garbage collection and the scrub use it.
 */
import type { Digest } from '../oci/digest.js';
import type { BlobSweeper } from '../storage/blobstore.js';
import type { BlobLinkIndex } from '../index/metadata.js';

/** `counts(digest, repo)`: whether that link counts (a dry-run collection ignores the links it would remove). */
export async function* linkedBlobs(
  store: Pick<BlobSweeper, 'digests'>,
  index: Pick<BlobLinkIndex, 'blobHolders'>,
  counts: (digest: string, repo: string) => boolean = () => true,
): AsyncIterable<{ digest: Digest; linked: boolean }> {
  const links = index.blobHolders()[Symbol.asyncIterator]();
  try {
    let link = await links.next();
    for await (const digest of store.digests()) {
      let linked = false;
      for (; !link.done && link.value.digest <= digest.value; link = await links.next()) {
        if (link.value.digest === digest.value && counts(digest.value, link.value.repo)) linked = true;
      }
      yield { digest, linked };
    }
  } finally {
    await links.return?.();
  }
}
