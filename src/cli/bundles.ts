/**
 * `berth import FILE`, `berth export IMAGE... -o FILE [--exclude-from INVENTORY]`, `berth
 * inventory` and `berth bundles list|remove`. On a stopped registry they open its root; on a running one (it holds the index's
 * lock) they go through its loopback-only /_berth/bundles, /_berth/export and /_berth/inventory.
 * A progress bar shows on a terminal.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { request } from 'undici';
import { ConfigError, type BerthConfig } from '../config/config.js';
import { BundleImporter, type ImportOptions } from '../bundles/importer.js';
import { BundleExporter, splitPlan } from '../bundles/exporter.js';
import { PART_HEADER, PartState, parsePartHeader, splitTar, type PartHeader } from '../bundles/parts.js';
import type { OpenRegistry } from '../open.js';
import { inventoryJson, parseInventory } from '../bundles/inventory.js';
import { parseBundleRef } from '../bundles/records.js';
import type { Registry } from '../registry/registry.js';
import { StorePaths } from '../storage/paths.js';
import { progress } from './progress.js';
import { answer, localServer, openStopped } from './stopped.js';

/** A directory bundle as a tar stream (to send it to a running berth). */
function tarOfDir(dir: string): Readable {
  const pack = tar.pack();
  (async () => {
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const path = join(d, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile()) await pipeline(createReadStream(path), pack.entry({ name: relative(dir, path).split(sep).join('/'), size: (await stat(path)).size }));
      }
    };
    await walk(dir);
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}


/**
 * A split bundle's part that this root has already taken (its first tar entry names the part; the
 * import state says which are in): the command line skips it without reading it through.
 */
async function partAlreadyIn(root: string, file: string): Promise<PartHeader | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const head = Buffer.alloc(1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const name = head.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(head.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    if (name !== PART_HEADER || bytesRead < 512 + size) return undefined;
    const h = parsePartHeader(head.subarray(512, 512 + size));
    const state = new PartState(new StorePaths(root).importState(h.bundle.slice('sha256:'.length)));
    return (await state.done()).has(h.part) ? h : undefined;
  } catch {
    return undefined; // not a part: the import reads it as whatever it is
  } finally {
    await fh.close();
  }
}

/** `berth import FILE...`: each file in turn (a split bundle's parts in any order). */
export async function importBundle(config: BerthConfig, files: string[], opts: ImportOptions): Promise<void> {
  for (const f of files) if (!(await stat(f).catch(() => undefined))) throw new ConfigError(`${f}: no such file or directory`);
  const opened = await openStopped(config);
  try {
    for (const file of files) {
      const done = await partAlreadyIn(config.storage.root, file);
      if (done) {
        process.stdout.write(`${JSON.stringify({ part: { bundle: done.bundle, part: done.part, parts: done.parts, skipped: true }, file })}\n`);
        continue;
      }
      await importOne(config, opened, file, opts);
    }
  } finally {
    await opened?.close();
  }
}

async function importOne(config: BerthConfig, opened: OpenRegistry | undefined, file: string, opts: ImportOptions): Promise<void> {
  const s = await stat(file);
  const withDefault: ImportOptions = { fileName: basename(file), ...opts };
  if (config.mirror?.prefix) withDefault.defaultPrefix = config.mirror.prefix;
  if (opened) {
    const importer = new BundleImporter(opened.registry, opened.blobs, new StorePaths(config.storage.root));
    let report;
    if (s.isDirectory()) report = await importer.importDir(file, withDefault);
    else {
      const p = progress(s.size, 'import');
      const reading = pipeline(createReadStream(file), p.meter).catch(() => undefined);
      try {
        report = await importer.importTar(p.meter, withDefault);
      } finally {
        p.stop();
        await reading;
      }
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const q = new URLSearchParams();
  if (opts.prefix !== undefined) q.set('prefix', opts.prefix);
  if (opts.repository) q.set('repository', opts.repository);
  for (const k of ['name', 'version'] as const) if (opts[k] !== undefined) q.set(k, opts[k]);
  for (const p of opts.platforms ?? []) q.append('platform', p);
  q.set('fileName', basename(file));
  const { base, dispatcher } = localServer(config);
  const p = progress(s.isDirectory() ? undefined : s.size, 'import');
  const source = s.isDirectory() ? tarOfDir(file) : createReadStream(file);
  source.pipe(p.meter);
  try {
    const r = await request(`${base}/_berth/bundles?${q}`, { method: 'POST', body: p.meter, headers: { 'content-type': 'application/x-tar' }, dispatcher });
    process.stdout.write(`${await answer(r)}\n`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base} (give the config it runs with): ${(err as Error).message}`);
  } finally {
    p.stop();
  }
}

/** Writes `pieces` to `output` whole (beside it, then renamed) or to standard output. */
async function writeWhole(pieces: AsyncIterable<string | Buffer>, output: string | undefined): Promise<void> {
  if (!output) return pipeline(Readable.from(pieces), process.stdout, { end: false });
  const partial = `${output}.partial`;
  try {
    await pipeline(Readable.from(pieces), createWriteStream(partial));
    await rename(partial, output);
  } catch (err) {
    await unlink(partial).catch(() => undefined);
    throw err;
  }
}

export async function inventory(config: BerthConfig, output: string | undefined): Promise<void> {
  const opened = await openStopped(config);
  if (opened) {
    try {
      await writeWhole(inventoryJson(opened.index, opened.blobs), output);
    } finally {
      await opened.close();
    }
    return;
  }
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    r = await request(`${base}/_berth/inventory`, { dispatcher });
  } catch (err) {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base}: ${(err as Error).message}`);
  }
  if (r.statusCode !== 200) await answer(r);
  await writeWhole(r.body, output);
}

export interface ExportCli {
  excludeFrom?: string;
  name?: string;
  version?: string;
  /** --split: the largest part, in bytes. */
  split?: number;
  platforms?: string[];
}

export async function exportBundle(config: BerthConfig, images: string[], output: string, o: ExportCli = {}): Promise<void> {
  const naming = { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.version !== undefined ? { version: o.version } : {}), ...(o.platforms ? { platforms: o.platforms } : {}) };
  const inventoryText = o.excludeFrom === undefined ? undefined : await readFile(o.excludeFrom, 'utf8').catch((err: Error) => {
    throw new ConfigError(`--exclude-from ${o.excludeFrom}: ${err.message}`);
  });
  // a bad inventory is refused before anything is written, on either path
  const exclude = inventoryText === undefined ? undefined : parseInventory(inventoryText).blobs;
  // written next to the target and renamed when complete: a failed export leaves no partial file
  const partial = `${output}.partial`;
  const write = async (body: Readable, total: number, split?: { parts: number; bundle: string }): Promise<string[]> => {
    const p = progress(total, 'export');
    try {
      if (split) {
        const metered = pipeline(body, p.meter);
        const files = await splitTar(p.meter, o.split!, split, output);
        await metered;
        return files;
      }
      await pipeline(body, p.meter, createWriteStream(partial));
      await rename(partial, output);
      return [output];
    } catch (err) {
      body.destroy(err as Error); // the export writing into it stops too
      await unlink(partial).catch(() => undefined);
      throw err;
    } finally {
      p.stop();
    }
  };
  const opened = await openStopped(config);
  if (opened) {
    try {
      const exporter = new BundleExporter(opened.registry, opened.blobs);
      const plan = await exporter.plan(images, { ...naming, ...(exclude ? { exclude } : {}) });
      const split = o.split === undefined ? undefined : splitPlan(plan, o.split);
      const tarStream = new PassThrough();
      const [report, files] = await Promise.all([exporter.write(plan, tarStream), write(tarStream, plan.bytes, split)]);
      process.stdout.write(`${JSON.stringify({ ...report, ...(split ? { bundle: split.bundle, parts: files } : {}) })}\n`);
    } finally {
      await opened.close();
    }
    return;
  }
  const q = new URLSearchParams();
  for (const i of images) q.append('image', i);
  if (naming.name !== undefined) q.set('name', naming.name);
  if (naming.version !== undefined) q.set('version', naming.version);
  for (const p of o.platforms ?? []) q.append('platform', p);
  if (o.split !== undefined) q.set('split', String(o.split));
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    r = await request(`${base}/_berth/export?${q}`, inventoryText === undefined ? { dispatcher } : { method: 'POST', body: inventoryText, headers: { 'content-type': 'application/json' }, dispatcher });
  } catch (err) {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base}: ${(err as Error).message}`);
  }
  if (r.statusCode !== 200) await answer(r);
  const h = (name: string) => (typeof r.headers[name] === 'string' ? (r.headers[name] as string) : undefined);
  const split = o.split === undefined ? undefined : { parts: Number(h('x-berth-split-parts')), bundle: h('x-berth-split-bundle') ?? '' };
  const files = await write(r.body, Number(h('x-berth-export-bytes') ?? 0), split);
  const excluded = h('x-berth-export-excluded');
  process.stdout.write(`${JSON.stringify({ images: images.length, output, ...(excluded ? { excluded: JSON.parse(excluded) } : {}), ...(split ? { bundle: split.bundle, parts: files } : {}) })}\n`);
}

/** The running server's JSON answer to `method path`, or, with the root stopped, `local` computed on it. */
async function onServerOrRoot(config: BerthConfig, method: 'GET' | 'DELETE', path: string, local: (registry: Registry) => Promise<unknown>): Promise<unknown> {
  const opened = await openStopped(config);
  if (opened) {
    try {
      return await local(opened.registry);
    } finally {
      await opened.close();
    }
  }
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    r = await request(`${base}${path}`, { method, dispatcher });
  } catch (err) {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base} (give the config it runs with): ${(err as Error).message}`);
  }
  return JSON.parse(await answer(r)) as unknown;
}

export async function listBundles(config: BerthConfig): Promise<void> {
  const out = await onServerOrRoot(config, 'GET', '/_berth/bundles', async (registry) => ({ bundles: await registry.bundles.list() }));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

export async function removeBundle(config: BerthConfig, ref: string, dryRun: boolean): Promise<void> {
  const { name, version } = parseBundleRef(ref); // a bad reference is said before anything is opened
  const q = new URLSearchParams({ bundle: `${name}@${version}`, ...(dryRun ? { dryRun: '1' } : {}) });
  const out = await onServerOrRoot(config, 'DELETE', `/_berth/bundles?${q}`, (registry) => registry.bundles.remove(name, version, dryRun));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
