/**
 * An open blob in the object store. `stream()`, `body()` (what a download pipes to its client) and
 * `connection()` (what a download splices to its client) are one ranged GET each. `read()` (the bundle exporter) serves sequential reads from one GET that
 * stays open, so a walk is one request however many buffers it is read into; a read elsewhere starts
 * a new ranged GET.
 */
import { Readable } from 'node:stream';
import type { OpenBlob, StoreConnection } from '../blobstore.js';
import { RegistryError } from '../../oci/errors.js';
import type { S3Bucket } from './bucket.js';


export class S3OpenBlob implements OpenBlob {
  private reader: AsyncIterator<Buffer> | undefined;
  private source: Readable | undefined;
  private conn: StoreConnection | undefined;
  /** Where the open GET stands, and bytes it gave beyond the last read. */
  private position = -1;
  private rest: Buffer | undefined;

  constructor(
    private readonly bucket: S3Bucket,
    private readonly key: string,
    readonly size: number,
  ) {
    if (bucket.plainHttp) this.connection = (start, end) => this.connect(start, end);
  }

  stream(start?: number, end?: number): Readable {
    // the GET starts when the stream is first read; an object gone meanwhile ends it with an error
    const { bucket, key } = this;
    return Readable.from(
      (async function* () {
        const body = await bucket.get(key, start ?? 0, end);
        if (!body) throw new Error(`blob ${key} disappeared while being read`);
        yield* body as AsyncIterable<Buffer>;
      })(),
      { objectMode: false },
    );
  }

  async body(start: number, end: number): Promise<Readable> {
    const body = await this.bucket.get(this.key, start, end);
    // collected (or deleted) since it was opened: as if it had not been found
    if (!body) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown: it was deleted as its download began');
    this.source = body; // close() ends it
    return body;
  }

  /** Present when the store is reached over plain TCP (see raw-get.ts). */
  readonly connection?: (start: number, end: number) => Promise<StoreConnection>;

  private async connect(start: number, end: number): Promise<StoreConnection> {
    const conn = await this.bucket.connection(this.key, start, end);
    if (!conn) throw new RegistryError('BLOB_UNKNOWN', 'blob unknown: it was deleted as its download began');
    this.conn = conn; // close() ends it
    return conn;
  }

  async read(buf: Buffer, length: number, position: number): Promise<number> {
    if (position >= this.size || length === 0) return 0;
    if (position !== this.position) await this.reopen(position);
    let n = 0;
    while (n < length) {
      let chunk = this.rest;
      this.rest = undefined;
      if (!chunk) {
        const next = await this.reader!.next();
        if (next.done) break;
        chunk = next.value;
      }
      const take = Math.min(chunk.length, length - n);
      chunk.copy(buf, n, 0, take);
      n += take;
      if (take < chunk.length) this.rest = chunk.subarray(take);
    }
    this.position = position + n;
    return n;
  }

  private async reopen(position: number): Promise<void> {
    this.source?.destroy();
    const body = await this.bucket.get(this.key, position);
    if (!body) throw new Error(`blob ${this.key} disappeared while being read`);
    this.source = body;
    this.reader = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.position = position;
    this.rest = undefined;
  }

  async close(): Promise<void> {
    this.conn?.close();
    this.conn = undefined;
    this.source?.destroy();
    this.source = undefined;
    this.reader = undefined;
  }
}
