/**
 * `berth import FILE`, `berth export IMAGE... -o FILE [--exclude-from INVENTORY]`, `berth
 * inventory` and `berth bundles list|remove`. On a stopped registry they open its root; on a running one (it holds the index's
 * lock) they go through its loopback-only /_berth/bundles, /_berth/export and /_berth/inventory.
 * A progress bar shows on a terminal.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { request } from 'undici';
import { ConfigError, type BerthConfig } from '../config/config.js';
import { BundleImporter, type ImportOptions } from '../bundles/importer.js';
import { BundleExporter } from '../bundles/exporter.js';
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


export async function importBundle(config: BerthConfig, file: string, opts: ImportOptions): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (!s) throw new ConfigError(`${file}: no such file or directory`);
  const withDefault: ImportOptions = { fileName: basename(file), ...opts };
  if (config.mirror?.prefix) withDefault.defaultPrefix = config.mirror.prefix;
  const opened = await openStopped(config);
  if (opened) {
    try {
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
    } finally {
      await opened.close();
    }
    return;
  }
  const q = new URLSearchParams();
  if (opts.prefix !== undefined) q.set('prefix', opts.prefix);
  if (opts.repository) q.set('repository', opts.repository);
  for (const k of ['name', 'version'] as const) if (opts[k] !== undefined) q.set(k, opts[k]);
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

export async function exportBundle(config: BerthConfig, images: string[], output: string, excludeFrom?: string, naming: { name?: string; version?: string } = {}): Promise<void> {
  const inventoryText = excludeFrom === undefined ? undefined : await readFile(excludeFrom, 'utf8').catch((err: Error) => {
    throw new ConfigError(`--exclude-from ${excludeFrom}: ${err.message}`);
  });
  // a bad inventory is refused before anything is written, on either path
  const exclude = inventoryText === undefined ? undefined : parseInventory(inventoryText).blobs;
  // written next to the target and renamed when complete: a failed export leaves no partial file
  const partial = `${output}.partial`;
  const write = async (body: Readable | ((out: Writable) => Promise<unknown>), total: number) => {
    const p = progress(total, 'export');
    try {
      const file = createWriteStream(partial);
      const done = pipeline(p.meter, file);
      if (typeof body === 'function') {
        await body(p.meter);
      } else await pipeline(body, p.meter);
      await done;
      await rename(partial, output);
    } catch (err) {
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
      let report;
      await write(async (out) => (report = await exporter.write(plan, out)), plan.bytes);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } finally {
      await opened.close();
    }
    return;
  }
  const q = new URLSearchParams();
  for (const i of images) q.append('image', i);
  if (naming.name !== undefined) q.set('name', naming.name);
  if (naming.version !== undefined) q.set('version', naming.version);
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    r = await request(`${base}/_berth/export?${q}`, inventoryText === undefined ? { dispatcher } : { method: 'POST', body: inventoryText, headers: { 'content-type': 'application/json' }, dispatcher });
  } catch (err) {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base}: ${(err as Error).message}`);
  }
  if (r.statusCode !== 200) await answer(r);
  await write(r.body, Number(r.headers['x-berth-export-bytes'] ?? 0));
  const excluded = r.headers['x-berth-export-excluded'];
  process.stdout.write(`${JSON.stringify({ images: images.length, output, ...(typeof excluded === 'string' ? { excluded: JSON.parse(excluded) } : {}) })}\n`);
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
