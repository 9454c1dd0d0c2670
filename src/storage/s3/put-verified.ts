/**
 * Writes a body to one object while hashing it, so that the object appears only once the bytes are
 * accepted: a body that fails midway, is longer or shorter than declared, or that `accept` refuses
 * (a wrong digest) leaves no object at the key.
 *
 * Bodies up to one part are held (at most PART_SIZE) and sent with one PutObject after `accept`;
 * longer ones go as a multipart upload to the key, completed only after `accept` and aborted
 * otherwise (an uncompleted multipart upload is not an object). One part is sent while the next one
 * fills: memory per upload stays at two parts whatever the blob's size.
 */
import type { Hash } from 'node:crypto';
import { RegistryError } from '../../oci/errors.js';
import type { ByteSource } from '../blobstore.js';
import { countReceived } from '../body-memory.js';
import type { S3Bucket } from './bucket.js';

/** 8 MiB: above S3's 5 MiB minimum part; 10,000 parts make 78 GiB, S3's limit on parts. */
export const PART_SIZE = 8 * 1024 * 1024;

export interface PutVerified {
  hashes: Hash[];
  /** The declared length: a body longer or shorter is SIZE_INVALID. */
  expectLength?: number | undefined;
  /** Called with the length once the whole body is in and hashed; throws to refuse it. */
  accept(size: number): void;
}

export async function putVerified(bucket: S3Bucket, key: string, body: ByteSource, opts: PutVerified): Promise<number> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let received = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string; PartNumber: number }[] = [];
  let sending: Promise<void> | undefined;
  let failure: unknown;

  const sendHeld = async () => {
    const part = Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    await sending; // one part in flight at a time
    if (failure) throw failure;
    uploadId ??= await bucket.startMultipart(key);
    const id = uploadId;
    const n = parts.length + 1;
    parts.push({ ETag: '', PartNumber: n });
    sending = bucket.uploadPart(key, id, n, part).then(
      (p) => void (parts[n - 1] = p),
      (err: unknown) => void (failure ??= err),
    );
  };

  try {
    for await (const chunk of body) {
      if (opts.expectLength !== undefined && received + chunk.length > opts.expectLength) {
        throw new RegistryError('SIZE_INVALID', `body is longer than the declared ${opts.expectLength} bytes`);
      }
      for (const h of opts.hashes) h.update(chunk);
      received += chunk.length;
      countReceived(chunk.length);
      held.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      heldBytes += chunk.length;
      if (heldBytes >= PART_SIZE) await sendHeld();
    }
    if (opts.expectLength !== undefined && received !== opts.expectLength) {
      throw new RegistryError('SIZE_INVALID', `body has ${received} bytes, ${opts.expectLength} were declared`);
    }
    opts.accept(received);
    if (uploadId === undefined) {
      await bucket.put(key, Buffer.concat(held, heldBytes));
      return received;
    }
    if (heldBytes > 0) await sendHeld();
    await sending;
    if (failure) throw failure;
    await bucket.completeMultipart(key, uploadId, parts);
    uploadId = undefined;
    return received;
  } finally {
    if (uploadId !== undefined) {
      const id = uploadId;
      await sending?.catch(() => undefined);
      await bucket.abortMultipart(key, id).catch(() => undefined); // an abort that fails is swept later (uploads.list)
    }
  }
}
