/**
 * The one owner of the object-key layout in the bucket (the counterpart of paths.ts), every key under
 * `storage.s3.prefix`, so one bucket can hold several registries:
 *
 *   <prefix>blobs/<algorithm>/<hex>               a blob, by content digest; written once, never rewritten
 *   <prefix>touched/<algorithm>/<hex>             empty; its LastModified is when the blob was last pushed
 *                                                  again (garbage collection's age), so that restarting the
 *                                                  age never rewrites the blob (a read racing a rewrite of
 *                                                  its object fails on Ceph RGW: 500, ECANCELED)
 *   <prefix>uploads/<id>/<offset: 16 digits>      an upload session's chunks, one object per chunk
 *                                                  (the digits sort as the offsets do)
 *   <prefix>probe/<random>                        written and removed by the readiness check
 *
 * Listing `blobs/` returns keys in UTF-8 byte order, which is the order of `algorithm:hex`: 'sha256/'
 * sorts before 'sha512/' as 'sha256:' does before 'sha512:'.
 */
import { randomUUID } from 'node:crypto';
import { tryParseDigest, type Digest } from '../../oci/digest.js';

const OFFSET_DIGITS = 16;

export class S3Keys {
  constructor(readonly prefix: string) {}

  blob(d: Digest): string {
    return `${this.prefix}blobs/${d.algorithm}/${d.hex}`;
  }

  get blobsPrefix(): string {
    return `${this.prefix}blobs/`;
  }

  touched(d: Digest): string {
    return `${this.touchedPrefix}${d.algorithm}/${d.hex}`;
  }

  /** Its keys sort as the blobs' do (the same `<algorithm>/<hex>` after the prefix). */
  get touchedPrefix(): string {
    return `${this.prefix}touched/`;
  }

  /** The digest a blob key names, or undefined for a key berth did not write. */
  digestOf(key: string): Digest | undefined {
    const rest = key.slice(this.blobsPrefix.length);
    const slash = rest.indexOf('/');
    return slash < 0 ? undefined : tryParseDigest(`${rest.slice(0, slash)}:${rest.slice(slash + 1)}`);
  }

  get uploadsPrefix(): string {
    return `${this.prefix}uploads/`;
  }

  uploadPrefix(id: string): string {
    return `${this.uploadsPrefix}${id}/`;
  }

  chunk(id: string, offset: number): string {
    return `${this.uploadPrefix(id)}${String(offset).padStart(OFFSET_DIGITS, '0')}`;
  }

  /** The session and offset a chunk key names. */
  chunkOf(key: string): { id: string; offset: number } | undefined {
    const m = /^([^/]+)\/(\d+)$/.exec(key.slice(this.uploadsPrefix.length));
    return m ? { id: m[1]!, offset: Number(m[2]) } : undefined;
  }

  probe(): string {
    return `${this.prefix}probe/${randomUUID()}`;
  }
}
