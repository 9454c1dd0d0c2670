/**
 * The few S3 operations berth uses, on one bucket, through the AWS SDK v3: every failure that means
 * "the store cannot answer" comes out as UNAVAILABLE (errors.ts), a missing object as undefined/false.
 */
import { Agent as HttpsAgent } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { isNotFound, unavailable } from './errors.js';
import type { StoreConnection } from '../blobstore.js';
import { rawGet } from './raw-get.js';

export interface S3Options {
  /** http(s)://host:port of an S3-compatible store; absent: AWS's endpoint for the region. */
  endpoint?: string;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  /** Static credentials; absent: the SDK's chain (environment, shared files, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A PEM file of the CA that signed the store's certificate; `insecure`: do not verify it. */
  ca?: string;
  insecure?: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** S3's limit for one CopyObject (5 GiB). */
export const COPY_LIMIT = 5 * 1024 ** 3;

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: number;
}

export class S3Bucket {
  readonly client: S3Client;
  readonly name: string;
  /** endpoint/bucket, for messages. */
  readonly where: string;
  /** Whether the store is reached over plain TCP, where a GET's body can be moved by splice(2) (raw-get.ts). */
  readonly plainHttp: boolean;
  private readonly timeouts: { connectTimeoutMs: number; requestTimeoutMs: number };

  constructor(o: S3Options) {
    this.name = o.bucket;
    this.where = `${o.endpoint ?? `s3.${o.region}.amazonaws.com`}/${o.bucket}`;
    this.plainHttp = o.endpoint?.startsWith('http://') ?? false;
    this.timeouts = { connectTimeoutMs: o.connectTimeoutMs, requestTimeoutMs: o.requestTimeoutMs };
    const httpsAgent = o.ca !== undefined || o.insecure ? new HttpsAgent({ keepAlive: true, ...(o.ca !== undefined ? { ca: readFileSync(o.ca) } : {}), rejectUnauthorized: !o.insecure }) : undefined;
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      // Checksums only where S3 requires them: with a streamed body the SDK's default (a trailing
      // CRC32 in aws-chunked encoding) is refused by stores that do not implement it (Ceph RGW
      // Pacific answers 411 MissingContentLength). berth verifies every byte by its digest anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: o.connectTimeoutMs, requestTimeout: o.requestTimeoutMs, ...(httpsAgent ? { httpsAgent } : {}) },
    });
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw unavailable(err, this.where);
    }
  }

  /** Whether the bucket is there and berth may use it: the start-up and `config check` probe. */
  async headBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.name }));
  }

  async head(key: string): Promise<{ size: number; lastModified: number } | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { size: r.ContentLength ?? 0, lastModified: r.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable(err, this.where);
    }
  }

  /** Bytes [start, end] (inclusive) of an object, streamed; undefined when it is not there. */
  async get(key: string, start?: number, end?: number): Promise<Readable | undefined> {
    const Range = start === undefined && end === undefined ? undefined : `bytes=${start ?? 0}-${end ?? ''}`;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key, ...(Range ? { Range } : {}) }));
      return r.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable(err, this.where);
    }
  }

  put(key: string, body: Buffer): Promise<unknown> {
    return this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentLength: body.length })));
  }

  delete(key: string): Promise<unknown> {
    return this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key })));
  }

  /** Copies within the bucket (at most 5 GiB: S3's limit for one copy); false when the source is gone. */
  async copy(from: string, to: string, replaceMetadata = false): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.name, Key: to, CopySource: `${this.name}/${encodeURIComponent(from).replaceAll('%2F', '/')}`, ...(replaceMetadata ? { MetadataDirective: 'REPLACE' } : {}) }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw unavailable(err, this.where);
    }
  }

  /** Every object under `prefix`, in key order, a page (at most 1,000) at a time. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })));
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Multipart uploads begun under `prefix` and neither completed nor aborted. */
  async *multipartUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: number }> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.name, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: idMarker } : {}) })),
      );
      for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 };
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.NextUploadIdMarker;
    } while (keyMarker);
  }

  async startMultipart(key: string): Promise<string> {
    const r = await this.call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: key })));
    if (!r.UploadId) throw new Error(`S3 at ${this.where}: CreateMultipartUpload gave no UploadId`);
    return r.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<{ ETag: string; PartNumber: number }> {
    const r = await this.call(() => this.client.send(new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length })));
    return { ETag: r.ETag ?? '', PartNumber: partNumber };
  }

  /** Ceph RGW (Pacific) answers an empty ETag here; nothing reads it. */
  completeMultipart(key: string, uploadId: string, parts: { ETag: string; PartNumber: number }[]): Promise<unknown> {
    return this.call(() => this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
  }

  abortMultipart(key: string, uploadId: string): Promise<unknown> {
    return this.call(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId })));
  }

  /** A presigned GET of the object (SigV4), valid for `seconds`. */
  async presignGet(key: string, seconds: number): Promise<string> {
    // the package is CommonJS: its exports object is the default export both from node_modules and
    // from the bundle's chunk (src/build/bundle.mjs), where esbuild gives it no named exports
    const { default: presigner } = await import('@aws-sdk/s3-request-presigner');
    return presigner.getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.name, Key: key }), { expiresIn: seconds });
  }

  /** Bytes [start, end] of an object on a connection of its own (raw-get.ts); undefined when it is not there. */
  async connection(key: string, start: number, end: number): Promise<StoreConnection | undefined> {
    // valid long enough for the request to reach the store, not to be reused
    return rawGet(new URL(await this.presignGet(key, 60)), start, end, this.where, this.timeouts);
  }

  destroy(): void {
    this.client.destroy();
  }
}
