/**
 * The blob and upload stores `storage.driver` names: files under the storage root (the default), or
 * an S3 bucket. The S3 modules and the AWS SDK load only when S3 is configured. The root stays in use
 * either way for local scratch (bundle staging, the token key) and, by default, the LevelDB index.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, durationMs, EngineError, type S3Config } from '../config/config.js';
import type { BlobStore, UploadStore } from './blobstore.js';
import { FsBlobStore } from './fs-blobstore.js';
import { FsUploadStore } from './fs-uploads.js';
import type { StorePaths } from './paths.js';
import type { S3Bucket, S3Options } from './s3/bucket.js';

export interface Stores {
  blobs: BlobStore;
  uploads: UploadStore;
  close(): void;
}

/** storage.s3 with its defaults, and the key prefix; `berth config check` runs it too. */
export function s3Options(s3: S3Config | undefined): { options: S3Options; prefix: string; redirectSeconds?: number } {
  const c = s3 ?? {};
  if (!c.bucket) throw new ConfigError('storage.s3.bucket: required when storage.driver is s3');
  if (c.endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(c.endpoint)) throw new ConfigError(`storage.s3.endpoint: expected http(s)://host[:port], got ${c.endpoint}`);
  if (c.secretAccessKey !== undefined && c.secretAccessKeyFile !== undefined) throw new ConfigError('storage.s3: secretAccessKey and secretAccessKeyFile are exclusive');
  let secret = c.secretAccessKey;
  if (c.secretAccessKeyFile !== undefined) {
    try {
      secret = readFileSync(c.secretAccessKeyFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`storage.s3.secretAccessKeyFile: ${(err as Error).message}`);
    }
  }
  if ((c.accessKeyId === undefined) !== (secret === undefined)) throw new ConfigError('storage.s3: accessKeyId and a secret key go together (or neither: the SDK finds credentials)');
  const prefix = c.prefix ? c.prefix.replace(/^\/+/, '').replace(/\/*$/, '/') : '';
  const redirectSeconds = c.redirect ? Math.round(durationMs(c.redirectExpiry ?? '10m') / 1000) : undefined;
  if (redirectSeconds !== undefined && (redirectSeconds < 1 || redirectSeconds > 7 * 86_400)) throw new ConfigError('storage.s3.redirectExpiry: between 1s and 7d (SigV4\'s limit)');
  return {
    prefix,
    ...(redirectSeconds !== undefined ? { redirectSeconds } : {}),
    options: {
      ...(c.endpoint ? { endpoint: c.endpoint.replace(/\/$/, '') } : {}),
      region: c.region ?? 'us-east-1',
      bucket: c.bucket,
      forcePathStyle: c.forcePathStyle ?? c.endpoint !== undefined,
      ...(c.accessKeyId !== undefined && secret !== undefined ? { credentials: { accessKeyId: c.accessKeyId, secretAccessKey: secret } } : {}),
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
      ...(c.insecure ? { insecure: true } : {}),
      connectTimeoutMs: durationMs(c.connectTimeout ?? '5s'),
      requestTimeoutMs: durationMs(c.requestTimeout ?? '30s'),
    },
  };
}

/** Why an S3 call failed, for a person: the SDK's error name, its HTTP status, its message. */
export function describeS3Error(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const what = status === 404 ? 'no such bucket' : status === 403 ? 'access denied (check the credentials and the bucket policy)' : status === 301 ? 'the bucket is in another region' : undefined;
  return [what, e.code ?? e.name, status ? `HTTP ${status}` : undefined, e.message && e.message !== e.name ? e.message : undefined].filter(Boolean).join(': ');
}

/** The configured bucket, once it answered HeadBucket; else an EngineError naming the store and the cause. */
async function connectBucket(options: S3Options): Promise<S3Bucket> {
  const { S3Bucket } = await import('./s3/bucket.js');
  const bucket = new S3Bucket(options);
  try {
    await bucket.headBucket();
    return bucket;
  } catch (err) {
    bucket.destroy();
    throw new EngineError(`S3 at ${bucket.where}: ${describeS3Error(err)}`, { cause: err });
  }
}

/** `berth config check`: connects to the bucket and lets it go; where it answered. */
export async function probeBucket(s3: S3Config | undefined): Promise<string> {
  const bucket = await connectBucket(s3Options(s3).options);
  bucket.destroy();
  return bucket.where;
}

export async function openStores(paths: StorePaths, fsync: boolean, storage: { driver: 'filesystem' | 's3'; s3?: S3Config } | undefined, cleanTemp: boolean): Promise<Stores> {
  if (storage?.driver === 's3') {
    const { options, prefix, redirectSeconds } = s3Options(storage.s3);
    const bucket = await connectBucket(options);
    const [{ S3Keys }, { S3BlobStore }, { S3UploadStore }] = await Promise.all([import('./s3/keys.js'), import('./s3/s3-blobstore.js'), import('./s3/s3-uploads.js')]);
    const blobs = new S3BlobStore(bucket, new S3Keys(prefix), redirectSeconds);
    return { blobs, uploads: new S3UploadStore(blobs), close: () => bucket.destroy() };
  }
  const blobs = new FsBlobStore(paths, { fsync });
  await blobs.init({ cleanTemp });
  return { blobs, uploads: new FsUploadStore(blobs), close: () => undefined };
}
