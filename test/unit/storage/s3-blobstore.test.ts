/** The BlobStore contract, unchanged, on a real Ceph RGW (a key prefix of its own per store). */
import { blobStoreSuite } from '../../shared/blobstore.suite.js';
import { S3_BUCKET, S3_CREDENTIALS, runS3, s3Prefix } from '../../helpers/ceph.js';
import { S3Bucket } from '../../../src/storage/s3/bucket.js';
import { S3Keys } from '../../../src/storage/s3/keys.js';
import { S3BlobStore } from '../../../src/storage/s3/s3-blobstore.js';
import { S3UploadStore } from '../../../src/storage/s3/s3-uploads.js';

blobStoreSuite('S3 (Ceph RGW)', async () => {
  const prefix = s3Prefix('blobstore');
  const bucket = new S3Bucket({ endpoint: runS3(), region: 'us-east-1', bucket: S3_BUCKET, forcePathStyle: true, credentials: { ...S3_CREDENTIALS }, connectTimeoutMs: 3000, requestTimeoutMs: 30_000 });
  const keys = new S3Keys(prefix);
  const blobs = new S3BlobStore(bucket, keys);
  const leftovers = async () => {
    const out: string[] = [];
    for await (const o of bucket.list(keys.uploadsPrefix)) out.push(o.key);
    for await (const o of bucket.list(`${prefix}probe/`)) out.push(o.key);
    for await (const u of bucket.multipartUploads(prefix)) out.push(`multipart ${u.key}`);
    return out;
  };
  return { blobs, uploads: new S3UploadStore(blobs), leftovers };
});
