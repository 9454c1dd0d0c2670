/**
 * Split bundles (`berth export --split SIZE`), for removable media: the bundle's entries written as
 * several tars of at most SIZE bytes each, `<output>.part<i>of<n>`. Each part is a tar of its own
 * that begins with `berth-part.json` ({berthBundlePart: 1, bundle, part, parts}); a blob that does
 * not fit in what is left of a part is cut into segments (`segments/<alg>/<hex>/<start>-<end>`) that
 * continue in the next. `bundle` is the digest of the split bundle's plan (its index.json and every
 * entry), the same in every part, and the record's digest when it is imported.
 *
 * An import takes the parts in any order, one command or several (a stick at a time): whole blobs go
 * into the store as they are read, segments and index.json into `<root>/imports/<bundle>/` (paths.ts),
 * and a part is marked done there only once all of it was read and checked. Running the import again
 * after an interruption skips the parts marked done (their first entry says which part they are) and
 * does the others; when the last part is in, the cut blobs are put together and checked against their
 * digests, and the images are published as from a whole bundle.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../oci/errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blobstore.js';

export const PART_HEADER = 'berth-part.json';
export const SEGMENTS = 'segments';
/** tar: a header block per entry, data padded to 512, two zero blocks at the end. */
const BLOCK = 512;
const pad = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
/** Room kept in every part for its berth-part.json entry and the end of the archive. */
const OVERHEAD = 2 * BLOCK + 2 * BLOCK;
export const MIN_PART_BYTES = 1024 * 1024;

export interface PartHeader {
  berthBundlePart: 1;
  /** sha256:<hex> of the plan: the same in every part of one bundle. */
  bundle: string;
  part: number;
  parts: number;
}

/** Where a piece of an entry goes: its part (from 0), its name there, and its bytes [start, end). */
export interface Placed {
  part: number;
  name: string;
  start: number;
  end: number;
}

/**
 * Decides, entry by entry in the bundle's order, what goes in which part: an entry that fits in what
 * is left of the part goes whole; a blob that does not is cut into segments that fill the part and
 * continue in the next; a file (index.json, oci-layout) that does not starts a new part. Greedy and
 * deterministic, so planning the entries' sizes ahead (layoutParts) and splitting the tar as it
 * streams (splitTar) decide the same.
 */
export class PartPlanner {
  private readonly cap: number;
  private part = 0;
  private used = 0;

  constructor(partSize: number) {
    if (partSize < MIN_PART_BYTES) throw new RegistryError('SIZE_INVALID', `--split: a part must hold at least ${MIN_PART_BYTES} bytes`);
    this.cap = partSize - OVERHEAD;
  }

  get parts(): number {
    return this.part + 1;
  }

  place(name: string, size: number): Placed[] {
    const whole = BLOCK + pad(size);
    if (this.used + whole <= this.cap) {
      this.used += whole;
      return [{ part: this.part, name, start: 0, end: size }];
    }
    const d = blobOf(name);
    if (!d) {
      if (whole > this.cap) throw new RegistryError('SIZE_INVALID', `--split: ${name} alone (${size} bytes) does not fit in a part`);
      this.part++;
      this.used = whole;
      return [{ part: this.part, name, start: 0, end: size }];
    }
    const out: Placed[] = [];
    for (let start = 0; start < size; ) {
      const room = Math.floor((this.cap - this.used - BLOCK) / BLOCK) * BLOCK;
      if (room < BLOCK) {
        this.part++;
        this.used = 0;
        continue;
      }
      const end = Math.min(size, start + room);
      out.push({ part: this.part, name: `${SEGMENTS}/${d.algorithm}/${d.hex}/${start}-${end}`, start, end });
      this.used += BLOCK + pad(end - start);
      start = end;
    }
    return out;
  }
}

function blobOf(name: string): Digest | undefined {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  if (!m) return undefined;
  try {
    return parseDigest(`${m[1]}:${m[2]}`);
  } catch {
    return undefined;
  }
}

/** The plan of a split bundle: how many parts, and its id (the digest of what goes where). */
export function planParts(entries: { name: string; size: number; digest?: string; bytes?: Buffer }[], partSize: number): { parts: number; bundle: string } {
  const planner = new PartPlanner(partSize);
  const h = createHash('sha256').update(`berth split bundle ${partSize}\n`);
  for (const e of entries) {
    const content = e.digest ?? `sha256:${createHash('sha256').update(e.bytes ?? '').digest('hex')}`;
    for (const p of planner.place(e.name, e.size)) h.update(`${p.part} ${p.name} ${content} ${p.start} ${p.end}\n`);
  }
  return { parts: planner.parts, bundle: `sha256:${h.digest('hex')}` };
}

export function partFileName(output: string, part: number, parts: number): string {
  return `${output}.part${part}of${parts}`;
}

/**
 * Splits a bundle's tar, as it streams, into its part files (beside their place, renamed once every
 * part is whole: a failed export leaves none). `plan` is planParts' for the same entries: the count
 * and id every part's header carries. Returns the files.
 */
export async function splitTar(source: Readable, partSize: number, plan: { parts: number; bundle: string }, output: string): Promise<string[]> {
  const { default: tar } = await import('tar-stream');
  const files = Array.from({ length: plan.parts }, (_, i) => partFileName(output, i + 1, plan.parts));
  const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const });
  const planner = new PartPlanner(partSize);
  const extract = tar.extract();
  const reading = pipeline(source, extract);
  reading.catch(() => undefined); // the loop below sees the same failure
  let open: { part: number; pack: ReturnType<typeof tar.pack>; writing: Promise<void> } | undefined;
  const close = async () => {
    if (!open) return;
    open.pack.finalize();
    await open.writing;
    open = undefined;
  };
  const partFor = async (part: number) => {
    if (open?.part === part) return open.pack;
    await close();
    if (part >= plan.parts) throw new Error(`the bundle needs more than the ${plan.parts} parts planned`);
    const pack = tar.pack();
    open = { part, pack, writing: pipeline(pack, createWriteStream(`${files[part]}.partial`)) };
    const head: PartHeader = { berthBundlePart: 1, bundle: plan.bundle, part: part + 1, parts: plan.parts };
    const bytes = Buffer.from(JSON.stringify(head));
    await new Promise<void>((res, rej) => pack.entry(header(PART_HEADER, bytes.length), bytes, (err) => (err ? rej(err) : res())));
    return pack;
  };
  try {
    for await (const entry of extract) {
      const size = entry.header.size ?? 0;
      const chunks = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      let held: Buffer = Buffer.alloc(0);
      for (const p of planner.place(entry.header.name, size)) {
        const pack = await partFor(p.part);
        const sink = pack.entry(header(p.name, p.end - p.start));
        // the segment's bytes: what is held from the last chunk, then chunks, cut at its end
        let want = p.end - p.start;
        async function* piece(): AsyncIterable<Buffer> {
          while (want > 0) {
            if (held.length === 0) {
              const n = await chunks.next();
              if (n.done) throw new Error(`${entry.header.name} ended early`);
              held = n.value;
            }
            const take = held.subarray(0, want);
            held = held.subarray(take.length);
            want -= take.length;
            yield take;
          }
        }
        await pipeline(Readable.from(piece()), sink);
      }
      for (let n = await chunks.next(); !n.done; n = await chunks.next()) {
        /* drain: an entry ends where its header said */
      }
    }
    await reading;
    await close();
    if (planner.parts !== plan.parts) throw new Error(`the bundle filled ${planner.parts} parts, not the ${plan.parts} planned`);
    for (const f of files) await rename(`${f}.partial`, f);
    return files;
  } catch (err) {
    open?.pack.destroy(err as Error);
    await open?.writing.catch(() => undefined);
    for (const f of files) await unlink(`${f}.partial`).catch(() => undefined);
    throw err;
  }
}

export function parsePartHeader(bytes: Buffer): PartHeader {
  let h: Partial<PartHeader>;
  try {
    h = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError('MANIFEST_INVALID', `bundle refused: ${PART_HEADER} is not valid JSON`);
  }
  const ok = h.berthBundlePart === 1 && typeof h.bundle === 'string' && /^sha256:[a-f0-9]{64}$/.test(h.bundle) && Number.isInteger(h.part) && Number.isInteger(h.parts) && h.part! >= 1 && h.part! <= h.parts!;
  if (!ok) throw new RegistryError('MANIFEST_INVALID', `bundle refused: ${PART_HEADER} does not describe a part of a berth split bundle`);
  return h as PartHeader;
}

/** What one part brought: whole blobs stored, and files (segments, index.json) staged. */
export interface PartLoaded {
  blobs: string[];
  /** Staged files by their name in the part (relative to `staging`). */
  staged: string[];
}

/**
 * A split bundle's import state under `dir` (paths.importState): `part-<i>.json` for each part done
 * (the blobs it stored), the staged files, and the segments of cut blobs.
 */
export class PartState {
  constructor(readonly dir: string) {}

  async done(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const f of await readdir(this.dir).catch(() => [] as string[])) {
      const m = /^part-(\d+)\.json$/.exec(f);
      if (m) out.set(Number(m[1]), (JSON.parse(await readFile(join(this.dir, f), 'utf8')) as { blobs: string[] }).blobs);
    }
    return out;
  }

  /** Moves the part's staged files in and marks it done (the mark last: a part cut short is not done). */
  async add(header: PartHeader, staging: string, loaded: PartLoaded): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of loaded.staged) {
      if (name === PART_HEADER) continue;
      const to = join(this.dir, 'files', name);
      await mkdir(join(to, '..'), { recursive: true });
      await rename(join(staging, name), to);
    }
    const mark = join(this.dir, `part-${header.part}.json`);
    await writeFile(`${mark}.partial`, JSON.stringify({ blobs: loaded.blobs }));
    await rename(`${mark}.partial`, mark);
  }

  /** Forgets parts (their blobs were collected before the last part came): they must be imported again. */
  async forget(parts: number[]): Promise<void> {
    for (const p of parts) await unlink(join(this.dir, `part-${p}.json`)).catch(() => undefined);
  }

  file(name: string): string {
    return join(this.dir, 'files', name);
  }

  /** Puts each cut blob together from its segments, checked by the store against its digest. */
  async assemble(store: BlobStore): Promise<string[]> {
    const root = this.file(SEGMENTS);
    const out: string[] = [];
    for (const alg of await readdir(root).catch(() => [] as string[])) {
      for (const hex of await readdir(join(root, alg))) {
        const digest: Digest = parseDigest(`${alg}:${hex}`);
        const segs = (await readdir(join(root, alg, hex)))
          .map((f) => {
            const [start, end] = f.split('-').map(Number);
            return { f, start: start!, end: end! };
          })
          .sort((a, b) => a.start - b.start);
        let at = 0;
        for (const s of segs) {
          if (s.start !== at) throw new RegistryError('BLOB_UNKNOWN', `bundle refused: blob ${digest.value} lacks its bytes from ${at}`);
          at = s.end;
        }
        const dir = join(root, alg, hex);
        async function* bytes(): AsyncIterable<Uint8Array> {
          for (const s of segs) yield* createReadStream(join(dir, s.f)) as AsyncIterable<Uint8Array>;
        }
        try {
          await store.ingest(Readable.from(bytes()), digest, at);
        } catch (err) {
          if (err instanceof RegistryError) throw new RegistryError(err.code, `bundle refused: ${err.message}`);
          throw err;
        }
        out.push(digest.value);
      }
    }
    return out;
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
