/**
 * Loading a content bundle's files (issue 7): an OCI image layout (image-spec "Image Layout") as a
 * directory or a tar (gzip or not), or a `docker save` archive. Blobs under `blobs/<alg>/<hex>` go
 * straight into the blob store while they are read, verified against the digest their name gives;
 * the other files (index.json, manifest.json, docker-save configs and layers) are staged in a temp
 * directory. Nothing is linked or tagged here: stored blobs stay invisible until the import publishes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { RegistryError } from '../oci/errors.js';
import { tryParseDigest } from '../oci/digest.js';
import type { BlobIngester } from '../storage/blobstore.js';
import { PART_HEADER } from './parts.js';

export interface BundleFiles {
  /** A file's bytes (index.json, manifest.json, a config), or undefined when the bundle has none. */
  read(name: string): Promise<Buffer | undefined>;
  /** A file's bytes as a stream (docker-save layers, which can be large). */
  open(name: string): Promise<Readable | undefined>;
  /** Digests of the `blobs/` entries now in the store. */
  readonly blobs: Set<string>;
  /** A tar's other files, staged by their names in it (a split bundle's part moves them on). */
  readonly staged?: string[];
  /** A split bundle's part already imported: nothing of it was stored (parts.ts). */
  readonly skipped?: boolean;
}

export interface LoadOptions {
  /** Asked with a split bundle's part header (its first entry): true when that part is already in. */
  partDone?(header: Buffer): Promise<boolean>;
}

/** A bundle file's name inside the bundle, or undefined for anything that could climb out of it. */
function safeName(name: string): string | undefined {
  const n = name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (n === '' || n.split('/').some((p) => p === '..' || p === '.')) return undefined;
  return n;
}

function blobDigest(name: string) {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  return m ? tryParseDigest(`${m[1]}:${m[2]}`) : undefined;
}

/** A bundle refused, said the same way wherever it is found out (loading, checking, a split's parts). */
export function refused(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', `bundle refused: ${message}`);
}

/** The source with its first bytes looked at: gzip's magic number (RFC 1952, 2.3.1) says whether to un-gzip it. */
async function peek(source: Readable): Promise<{ gzip: boolean; stream: Readable }> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // a stream may hand over fewer than two bytes first (a multipart part, a slow socket)
  const head: Buffer[] = [];
  let n = 0;
  let ended = false;
  while (n < 2) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    n += next.value.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const all = async function* () {
    if (first.length > 0) yield first;
    if (ended) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  };
  return { gzip: first[0] === 0x1f && first[1] === 0x8b, stream: Readable.from(all(), { objectMode: false }) };
}

/** Loads a tar (or tar.gz) bundle from a stream; `staging` is an empty temp directory the caller removes. */
export async function loadTar(source: Readable, store: BlobIngester, staging: string, opts: LoadOptions = {}): Promise<BundleFiles> {
  const blobs = new Set<string>();
  const staged: string[] = [];
  let skipped = false;
  const links = new Map<string, string>();
  const { default: tar } = await import('tar-stream'); // loaded on the first bundle, not at start
  const extract = tar.extract();
  let feeding: Promise<void> | undefined;
  try {
    const { gzip, stream } = await peek(source);
    feeding = gzip ? pipeline(stream, createGunzip(), extract) : pipeline(stream, extract);
    feeding.catch(() => undefined); // the loop below sees the same failure
    for await (const entry of extract) {
      if (skipped) {
        entry.resume(); // read to the end, stored nowhere: the sender sees its whole body taken
        continue;
      }
      const name = safeName(entry.header.name);
      const type = entry.header.type ?? 'file';
      if (name && (type === 'symlink' || type === 'link') && entry.header.linkname) {
        // docker save links a repeated layer to its first copy
        const target = safeName(type === 'symlink' ? join(dirname(name), entry.header.linkname).split(sep).join('/') : entry.header.linkname);
        if (target) links.set(name, target);
      }
      const digest = name ? blobDigest(name) : undefined;
      if (digest && type === 'file') {
        await store.ingest(entry as AsyncIterable<Uint8Array>, digest, entry.header.size);
        blobs.add(digest.value);
      } else if (name && type === 'file') {
        const path = join(staging, name);
        await mkdir(dirname(path), { recursive: true });
        await pipeline(entry, createWriteStream(path));
        staged.push(name);
        if (name === PART_HEADER && staged.length === 1 && opts.partDone) skipped = await opts.partDone(await readFile(path));
      } else {
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    if (err instanceof RegistryError) throw new RegistryError(err.code, `bundle refused: ${err.message}`);
    throw refused(`not a readable tar archive (${(err as Error).message})`);
  }
  const resolve = (name: string) => links.get(name) ?? name;
  return {
    blobs,
    staged,
    skipped,
    read: (name) => readFile(join(staging, resolve(name))).catch(() => undefined),
    async open(name) {
      const path = join(staging, resolve(name));
      return (await stat(path).catch(() => undefined)) ? createReadStream(path) : undefined;
    },
  };
}

/** Loads an OCI layout directory: its blobs go into the store; other files are read in place. */
export async function loadDir(dir: string, store: BlobIngester): Promise<BundleFiles> {
  const blobs = new Set<string>();
  const blobsDir = join(dir, 'blobs');
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) {
        const digest = blobDigest(relative(dir, path).split(sep).join('/'));
        if (!digest) continue;
        try {
          await store.ingest(createReadStream(path), digest, (await stat(path)).size);
        } catch (err) {
          if (err instanceof RegistryError) throw new RegistryError(err.code, `bundle refused: ${err.message}`);
          throw err;
        }
        blobs.add(digest.value);
      }
    }
  };
  await walk(blobsDir);
  const inside = (name: string) => {
    const n = safeName(name);
    return n === undefined ? undefined : join(dir, n);
  };
  return {
    blobs,
    read: async (name) => {
      const p = inside(name);
      return p ? readFile(p).catch(() => undefined) : undefined;
    },
    async open(name) {
      const p = inside(name);
      return p && (await stat(p).catch(() => undefined)) ? createReadStream(p) : undefined;
    },
  };
}
