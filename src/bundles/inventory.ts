/**
 * A site's inventory: the digests of the manifests and blobs it holds, so another registry can write
 * a delta bundle for it (`berth export --exclude-from`) that carries only the blobs it lacks.
 *
 * The format (one owner: this file) is JSON, compact: hex digests grouped by algorithm, each list in
 * ascending order:
 *   {"berthInventory":1,"createdAt":"…","manifests":{"sha256":["…",…]},"blobs":{"sha256":[…]}}
 * Blobs are those stored and linked in some repository: an unlinked blob may be collected before the
 * delta arrives, so it is not counted on. It is written as it is read (the store's and the index's
 * ordered walks), so memory does not grow with the number of blobs; manifests are gathered per
 * repository and sorted once.
 */
import { RegistryError } from '../oci/errors.js';
import { parseDigest } from '../oci/digest.js';
import { allRepositories } from '../index/repositories.js';
import { linkedBlobs } from '../registry/linked-blobs.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { BlobSweeper } from '../storage/blobstore.js';

export const INVENTORY_VERSION = 1;

/** Writes `"name":{"alg":["hex",…],…}` from digests in ascending order. */
async function* grouped(name: string, digests: AsyncIterable<string> | Iterable<string>): AsyncIterable<string> {
  yield `"${name}":{`;
  let alg: string | undefined;
  let first = true;
  let batch: string[] = [];
  for await (const digest of digests) {
    const colon = digest.indexOf(':');
    const a = digest.slice(0, colon);
    if (a !== alg) {
      if (batch.length) yield batch.join('');
      batch = [`${alg === undefined ? '' : '],'}"${a}":[`];
      alg = a;
      first = true;
    }
    batch.push(`${first ? '' : ','}"${digest.slice(colon + 1)}"`);
    first = false;
    if (batch.length >= 1024) {
      yield batch.join('');
      batch = [];
    }
  }
  if (batch.length) yield batch.join('');
  yield alg === undefined ? '}' : ']}';
}

/** The inventory as JSON text, in pieces. */
export async function* inventoryJson(index: MetadataIndex, store: Pick<BlobSweeper, 'digests'>, now = new Date()): AsyncIterable<string> {
  yield `{"berthInventory":${INVENTORY_VERSION},"createdAt":${JSON.stringify(now.toISOString())},`;
  const manifests = new Set<string>();
  for await (const repo of allRepositories(index)) for (const r of await index.listManifests(repo)) manifests.add(r.digest);
  yield* grouped('manifests', [...manifests].sort());
  yield ',';
  async function* linked(): AsyncIterable<string> {
    for await (const b of linkedBlobs(store, index)) if (b.linked) yield b.digest.value;
  }
  yield* grouped('blobs', linked());
  yield '}\n';
}

export interface Inventory {
  createdAt?: string;
  manifests: Set<string>;
  blobs: Set<string>;
}

function refused(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `inventory refused: ${message}`);
}

function digestsOf(field: unknown, name: string): Set<string> {
  const out = new Set<string>();
  if (field === undefined) return out;
  if (typeof field !== 'object' || field === null || Array.isArray(field)) throw refused(`"${name}" is not an object of digest lists by algorithm`);
  for (const [alg, list] of Object.entries(field)) {
    if (!Array.isArray(list)) throw refused(`"${name}.${alg}" is not a list`);
    for (const hex of list) {
      if (typeof hex !== 'string') throw refused(`"${name}.${alg}" holds a ${typeof hex}, not a hex digest`);
      try {
        out.add(parseDigest(`${alg}:${hex}`).value);
      } catch {
        throw refused(`"${name}.${alg}" holds "${hex.slice(0, 80)}", not a ${alg} digest`);
      }
    }
  }
  return out;
}

/** Reads an inventory written by inventoryJson (any berth version that writes version 1). */
export function parseInventory(text: string): Inventory {
  let raw: { berthInventory?: unknown; createdAt?: unknown; manifests?: unknown; blobs?: unknown };
  try {
    raw = JSON.parse(text);
  } catch {
    throw refused('not valid JSON (write one with berth inventory -o FILE)');
  }
  if (typeof raw !== 'object' || raw === null || raw.berthInventory !== INVENTORY_VERSION) {
    throw refused(`not a berth inventory of version ${INVENTORY_VERSION} (write one with berth inventory -o FILE)`);
  }
  const inv: Inventory = { manifests: digestsOf(raw.manifests, 'manifests'), blobs: digestsOf(raw.blobs, 'blobs') };
  if (typeof raw.createdAt === 'string') inv.createdAt = raw.createdAt;
  return inv;
}
