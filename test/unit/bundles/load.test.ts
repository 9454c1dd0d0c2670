/**
 * loadTar tells a gzip'd bundle from a plain tar by gzip's magic number (RFC 1952, 2.3.1: 0x1f 0x8b).
 * A stream may hand over its first byte alone (a multipart part, a slow socket); the check must
 * still see both bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { expect, it } from 'vitest';
import { loadTar } from '../../../src/bundles/load.js';
import { FsBlobStore } from '../../../src/storage/fs-blobstore.js';
import { StorePaths } from '../../../src/storage/paths.js';
import { testDir } from '../../helpers/tmp.js';

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, bytes] of Object.entries(files)) pack.entry({ name }, bytes);
  pack.finalize();
  const out: Buffer[] = [];
  for await (const c of pack) out.push(c as Buffer);
  return Buffer.concat(out);
}

it('reads a gzip bundle whose first chunk is one byte long', async () => {
  const root = await testDir('berth-load-');
  const paths = new StorePaths(root);
  const store = new FsBlobStore(paths, { fsync: false });
  await store.init({ cleanTemp: true });
  const blob = Buffer.from('layer bytes');
  const hex = createHash('sha256').update(blob).digest('hex');
  const gz = gzipSync(await tarOf({ 'index.json': Buffer.from('{}'), [`blobs/sha256/${hex}`]: blob }));
  const staging = join(root, 'staging');
  await mkdir(staging);
  const files = await loadTar(Readable.from([gz.subarray(0, 1), gz.subarray(1)]), store, staging);
  expect([...files.blobs]).toEqual([`sha256:${hex}`]);
  expect((await files.read('index.json'))?.toString()).toBe('{}');
});
