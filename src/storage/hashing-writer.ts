/**
 * Writes a body to an open file while hashing it, so blob bytes are never held whole in memory.
 * The hashes see exactly the bytes that reached the file, in order.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { RegistryError } from '../oci/errors.js';
import type { ByteSource } from './blobstore.js';

export async function writeHashed(
  body: ByteSource,
  fh: FileHandle | undefined,
  position: number,
  hashes: Hash[],
  expectLength?: number,
): Promise<number> {
  let written = 0;
  for await (const chunk of body) {
    if (expectLength !== undefined && written + chunk.length > expectLength) {
      throw new RegistryError('SIZE_INVALID', `body is longer than the declared ${expectLength} bytes`);
    }
    for (const h of hashes) h.update(chunk);
    if (fh) {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, position + written + off);
        off += bytesWritten;
      }
    }
    written += chunk.length;
  }
  if (expectLength !== undefined && written !== expectLength) {
    throw new RegistryError('SIZE_INVALID', `body has ${written} bytes, ${expectLength} were declared`);
  }
  return written;
}
