import { readdir } from 'node:fs/promises';
import { testDir } from '../../helpers/tmp.js';
import { blobStoreSuite } from '../../shared/blobstore.suite.js';
import { StorePaths } from '../../../src/storage/paths.js';
import { FsBlobStore } from '../../../src/storage/fs-blobstore.js';
import { FsUploadStore } from '../../../src/storage/fs-uploads.js';

blobStoreSuite('filesystem', async () => {
  const paths = new StorePaths(await testDir('berth-store-'));
  const blobs = new FsBlobStore(paths, { fsync: true });
  await blobs.init({ cleanTemp: true });
  return {
    blobs,
    uploads: new FsUploadStore(blobs),
    leftovers: async () => [...(await readdir(paths.tmpDir)), ...(await readdir(paths.uploadsDir))],
  };
});
