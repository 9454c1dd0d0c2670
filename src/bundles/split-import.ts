/**
 * Importing a split bundle's parts (parts.ts), in any order: each part's files join the bundle's import
 * state under <root>/imports/<id>/ and the part is marked done; once every part is, the cut blobs are
 * put together and the bundle is published by the importer, as a whole bundle would be.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { StorePaths } from '../storage/paths.js';
import { KeyedMutex } from '../registry/locks.js';
import { refused, type BundleFiles } from './load.js';
import { PartState, parsePartHeader, type PartHeader } from './parts.js';
import type { ImportOptions, ImportReport } from './importer.js';


export type Publish = (files: BundleFiles, opts: ImportOptions, started: number, digest: string) => Promise<ImportReport>;

export class SplitImports {
  /** One part of a split bundle at a time (they share its import state). */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly store: BlobStore,
    private readonly paths: StorePaths,
    private readonly publish: Publish,
  ) {}

  private state(bundle: string): PartState {
    return new PartState(this.paths.importState(bundle.slice(bundle.indexOf(':') + 1)));
  }

  /** Whether the part this header names is already in (loadTar then reads it through, storing nothing). */
  async done(header: Buffer): Promise<boolean> {
    const h = parsePartHeader(header);
    return (await this.state(h.bundle).done()).has(h.part);
  }

  /**
   * One part of a split bundle (parts.ts): its files join the bundle's import state and the part is
   * marked done; once every part is, the cut blobs are put together and the bundle is published.
   */
  add(files: BundleFiles, staging: string, head: PartHeader, opts: ImportOptions, started: number): Promise<ImportReport> {
    return this.locks.run(head.bundle, async () => {
      const state = this.state(head.bundle);
      let done = await state.done();
      if (!files.skipped && !done.has(head.part)) {
        await state.add(head, staging, { blobs: [...files.blobs], staged: files.staged ?? [] });
        done = await state.done();
      }
      // the blobs earlier parts stored are linked nowhere yet: their age for garbage collection restarts
      for (const blobs of done.values()) for (const b of blobs) await this.store.touch(parseDigest(b));
      const waiting = Array.from({ length: head.parts }, (_, i) => i + 1).filter((p) => !done.has(p));
      const part = { bundle: head.bundle, part: head.part, parts: head.parts, skipped: !!files.skipped, waiting };
      if (waiting.length > 0) return { part, images: [], blobs: files.blobs.size, manifests: 0, ms: Date.now() - started };
      const lost: number[] = [];
      for (const [p, blobs] of done) {
        for (const b of blobs) {
          if (!(await this.store.stat(parseDigest(b)))) {
            lost.push(p);
            break;
          }
        }
      }
      if (lost.length) {
        await state.forget(lost);
        throw refused(`part(s) ${lost.sort((a, b) => a - b).join(', ')} must be imported again: blobs they brought were collected since (garbage collection's delay passed between parts)`);
      }
      const all = new Set([...[...done.values()].flat(), ...(await state.assemble(this.store))]);
      const whole: BundleFiles = {
        blobs: all,
        read: (name) => readFile(state.file(name)).catch(() => undefined),
        open: async (name) => createReadStream(state.file(name)),
      };
      const report = await this.publish(whole, opts, started, head.bundle);
      await state.remove();
      return { ...report, part };
    });
  }

  /**
   * Forgets split bundles whose last part came longer than `ttlMs` ago (storage.importTTL): their
   * segments and staged files go; the whole blobs they stored are linked nowhere, so garbage
   * collection takes them. Importing the parts again starts over. Returns how many were forgotten.
   */
  async expire(ttlMs: number, now = Date.now()): Promise<number> {
    let n = 0;
    for (const id of await readdir(this.paths.importsDir).catch(() => [] as string[])) {
      await this.locks.run(`sha256:${id}`, async () => {
        const dir = this.paths.importState(id);
        const last = await lastChange(dir);
        if (last === undefined || now - last <= ttlMs) return;
        await rm(dir, { recursive: true, force: true });
        n++;
      });
    }
    return n;
  }
}

/** The latest modification time of a directory or the files directly in it (a part marked done). */
async function lastChange(dir: string): Promise<number | undefined> {
  const own = await stat(dir).catch(() => undefined);
  if (!own) return undefined;
  let last = own.mtimeMs;
  for (const f of await readdir(dir).catch(() => [] as string[])) last = Math.max(last, (await stat(join(dir, f)).catch(() => undefined))?.mtimeMs ?? 0);
  return last;
}
