/**
 * Importing a content bundle. Three steps, so a bad bundle leaves nothing visible:
 * 1. load: blobs stream into the store, verified against their digests (load.ts);
 * 2. check: every image's manifests are parsed and everything they reference must be in the bundle,
 *    or, for a delta bundle (exporter.ts), already in this registry's store: a delta whose blobs are
 *    missing here is refused with the whole list of missing digests;
 * 3. publish: per image, blobs are linked, child manifests put, and the tag goes last; then the
 *    bundle is recorded (records.ts: name, version, digest, the images it brought).
 * Importing the same bundle again changes nothing (content addressing makes it idempotent). Blobs
 * stored by a refused bundle are linked nowhere; garbage collection removes them.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../oci/errors.js';
import { digestBytes, parseDigest } from '../oci/digest.js';
import { BUNDLE_NAME, BUNDLE_VERSION, checkBundleName, checkBundleVersion, nameFromFile } from './records.js';
import { PART_HEADER, parsePartHeader } from './parts.js';
import { SplitImports } from './split-import.js';
import { keptChildren, parsePlatform, type Platform } from '../oci/platforms.js';
import { parseManifest } from '../oci/manifest.js';
import { checkName, isValidTag } from '../oci/names.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { StorePaths } from '../storage/paths.js';
import type { Registry } from '../registry/registry.js';
import { loadDir, loadTar, refused, type BundleFiles } from './load.js';
import { localRepository, parseImageReference } from './reference.js';
import { dockerArchiveImages } from './docker-archive.js';
import type { BundleImage, Node } from './plan.js';

/** Annotations berth's export writes, so an import restores the exact local names. */
export const BERTH_REPOSITORY = 'dev.berth.repository';
export const BERTH_TAG = 'dev.berth.tag';
/** On index.json itself: a delta bundle, whose blobs the receiving site already holds are left out. */
export const BERTH_DELTA = 'dev.berth.bundle.delta';
/** On index.json itself: its indexes carry only these platforms' children (comma-separated). */
export const BERTH_PLATFORMS = 'dev.berth.bundle.platforms';
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

export interface ImportOptions {
  /** Prepended to every repository, berth's own exports included. */
  prefix?: string;
  /** Prepended to repositories named by foreign references only, when no `prefix` is given (mirror.prefix). */
  defaultPrefix?: string;
  /** The repository for images whose name in the bundle is only a tag, or none. */
  repository?: string;
  /** The bundle's name and version for its record, over what its index.json says. */
  name?: string;
  version?: string;
  /** The bundle's file name: its record's name when neither the options nor the bundle give one. */
  fileName?: string;
  /** Only these platforms' children of each index (os/arch[/variant]); default: what the bundle says. */
  platforms?: string[];
}

export interface ImportedImage {
  repository: string;
  tag?: string;
  digest: string;
}

export interface ImportReport {
  /** The record this import made (berth bundles list); absent while a split bundle's parts are missing. */
  bundle?: { name: string; version: string; digest: string };
  /** A split bundle's part: which it was, and the parts still to come (none: the bundle was published). */
  part?: { bundle: string; part: number; parts: number; skipped: boolean; waiting: number[] };
  images: ImportedImage[];
  blobs: number;
  manifests: number;
  ms: number;
}




export class BundleImporter {
  /** Split bundles' parts (split-import.ts); the last part of one publishes through this importer. */
  private readonly split: SplitImports;

  constructor(
    private readonly registry: Registry,
    private readonly store: BlobStore,
    private readonly paths: StorePaths,
  ) {
    this.split = new SplitImports(store, paths, (files, opts, started, digest) => this.publish(files, opts, started, digest));
  }

  async importTar(source: Readable, opts: ImportOptions = {}): Promise<ImportReport> {
    const staging = this.paths.newTemp();
    await mkdir(staging, { recursive: true });
    const started = Date.now();
    // the digest of the bytes as they come (what sha256sum of the file says, gzip or not)
    const hash = createHash('sha256');
    const hashed = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const reading = pipeline(source, hashed).catch(() => undefined); // loadTar sees a failure as a short tar
    try {
      const files = await loadTar(hashed, this.store, staging, { partDone: (h) => this.split.done(h) });
      await reading;
      const part = await files.read(PART_HEADER);
      if (part) return await this.split.add(files, staging, parsePartHeader(part), opts, started);
      return await this.publish(files, opts, started, `sha256:${hash.digest('hex')}`);
    } finally {
      hashed.destroy();
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Forgets split bundles whose parts stopped arriving (storage.importTTL); how many. */
  expireParts(ttlMs: number, now = Date.now()): Promise<number> {
    return this.split.expire(ttlMs, now);
  }

  /** A directory's digest for its record: its index.json's (or docker save's manifest.json's). */
  async importDir(dir: string, opts: ImportOptions = {}): Promise<ImportReport> {
    const started = Date.now();
    const files = await loadDir(dir, this.store);
    const top = (await files.read('index.json')) ?? (await files.read('manifest.json')) ?? Buffer.alloc(0);
    return this.publish(files, { fileName: dir, ...opts }, started, digestBytes(top, 'sha256').value);
  }

  /** Where image `i` goes, from its annotations (berth's own, containerd's, then the OCI ref name). */
  private nameOf(annotations: Record<string, string>, opts: ImportOptions, i: number): { repository: string; tag?: string } {
    const clean = (p: string | undefined) => (p ?? '').replace(/^\/+|\/+$/g, '');
    const within = (repo: string) => checkName([clean(opts.prefix), repo].filter((p) => p !== '').join('/'));
    const prefix = clean(opts.prefix ?? opts.defaultPrefix);
    if (annotations[BERTH_REPOSITORY]) {
      const tag = annotations[BERTH_TAG];
      return tag ? { repository: within(annotations[BERTH_REPOSITORY]), tag } : { repository: within(annotations[BERTH_REPOSITORY]) };
    }
    const name = annotations[CONTAINERD_NAME] ?? annotations[REF_NAME];
    if (opts.repository !== undefined) {
      const tag = name === undefined ? undefined : isValidTag(name) ? name : parseImageReference(name).tag;
      return tag ? { repository: within(opts.repository), tag } : { repository: within(opts.repository) };
    }
    if (name === undefined) throw refused(`image ${i} in index.json has no ${REF_NAME} annotation; give a repository for it`);
    if (!name.includes('/') && !name.includes(':') && !name.includes('@')) {
      throw refused(`image ${i} is named only "${name}" (a tag, or a name without one); give a repository for it`);
    }
    const ref = parseImageReference(name);
    const repository = localRepository(ref, prefix);
    return ref.tag ? { repository, tag: ref.tag } : { repository };
  }

  /** The images an OCI layout's index.json names, and its own annotations (a delta, the bundle's name). */
  private async layoutImages(files: BundleFiles, opts: ImportOptions): Promise<{ images: BundleImage[]; annotations: Record<string, string> } | undefined> {
    const raw = await files.read('index.json');
    if (!raw) return undefined;
    let index: { manifests?: { mediaType?: string; digest?: string; annotations?: Record<string, string> }[]; annotations?: Record<string, string> };
    try {
      index = JSON.parse(raw.toString('utf8'));
    } catch {
      throw refused('index.json is not valid JSON');
    }
    if (!Array.isArray(index.manifests)) throw refused('index.json has no manifests');
    const images = index.manifests.map((d, i) => {
      if (typeof d.digest !== 'string') throw refused(`index.json manifests[${i}] has no digest`);
      const image: BundleImage = { ...this.nameOf(d.annotations ?? {}, opts, i), digest: parseDigest(d.digest).value };
      if (d.mediaType) image.mediaType = d.mediaType;
      return image;
    });
    return { images, annotations: index.annotations ?? {} };
  }

  private async readManifest(files: BundleFiles, extra: Map<string, Node>, digest: string, mediaType: string | undefined): Promise<Node> {
    const made = extra.get(digest);
    if (made) return made;
    if (!files.blobs.has(digest)) throw refused(`manifest ${digest} is not in the bundle`);
    const blob = await this.store.open(parseDigest(digest));
    if (!blob) throw refused(`manifest ${digest} is not in the bundle`);
    if (blob.size > this.registry.options.maxManifestBytes) {
      await blob.close();
      throw refused(`manifest ${digest} is larger than ${this.registry.options.maxManifestBytes} bytes`);
    }
    const bytes = Buffer.allocUnsafe(blob.size);
    try {
      for (let pos = 0, n; pos < bytes.length; pos += n) {
        n = await blob.read(bytes.subarray(pos), bytes.length - pos, pos);
        if (n === 0) throw refused(`manifest ${digest} ended early`);
      }
    } finally {
      await blob.close();
    }
    const parsed = parseManifest(bytes, mediaType);
    return { digest, mediaType: parsed.mediaType, bytes };
  }

  /**
   * Manifests children first, and the blobs they need; refuses anything the bundle lacks. A delta's
   * blobs that are neither in it nor stored here are added to `missing` (refused once all are known).
   */
  private async plan(files: BundleFiles, extra: Map<string, Node>, image: BundleImage, missing?: Set<string>, platforms?: Platform[]): Promise<{ nodes: Node[]; blobs: Map<string, number> }> {
    const nodes: Node[] = [];
    const blobs = new Map<string, number>();
    const seen = new Set<string>();
    const visit = async (digest: string, mediaType: string | undefined, depth: number): Promise<void> => {
      if (seen.has(digest)) return;
      if (depth > 8) throw refused(`manifests nest too deep under ${image.digest}`);
      seen.add(digest);
      const node = await this.readManifest(files, extra, digest, mediaType);
      const parsed = parseManifest(node.bytes, node.mediaType);
      let children = parsed.manifests;
      if (platforms && parsed.children) {
        const kept = keptChildren(parsed.children, platforms);
        children = children.filter((c) => kept.has(c));
        node.platforms = platforms;
      }
      for (const child of children) await visit(child, undefined, depth + 1);
      for (const b of parsed.blobs) {
        const s = files.blobs.has(b) || missing ? await this.store.stat(parseDigest(b)) : undefined;
        if (s) blobs.set(b, s.size);
        else if (missing) missing.add(b);
        else throw refused(`blob ${b} (of ${image.repository}${image.tag ? `:${image.tag}` : ''}) is not in the bundle`);
      }
      nodes.push(node);
    };
    await visit(image.digest, image.mediaType, 0);
    return { nodes, blobs };
  }

  /** The record's name and version: the options', the bundle's own, else the file's name and the digest. */
  private static naming(opts: ImportOptions, annotations: Record<string, string>, digest: string): { name: string; version: string } {
    const name = opts.name ?? annotations[BUNDLE_NAME] ?? nameFromFile(opts.fileName ?? '');
    const version = opts.version ?? annotations[BUNDLE_VERSION] ?? digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
    try {
      return { name: checkBundleName(name), version: checkBundleVersion(version) };
    } catch (err) {
      throw refused((err as Error).message);
    }
  }

  private async publish(files: BundleFiles, opts: ImportOptions, started: number, digest: string): Promise<ImportReport> {
    const extra = new Map<string, Node>();
    const layout = await this.layoutImages(files, opts);
    let images = layout?.images;
    if (!images) {
      const docker = await dockerArchiveImages(files, this.store, (name, i) => this.nameOf(name === undefined ? {} : { [REF_NAME]: name }, opts, i));
      if (!docker) throw refused('neither index.json (an OCI image layout) nor manifest.json (a docker save archive) is in it');
      for (const m of docker.manifests) extra.set(m.digest, m);
      images = docker.images;
    }
    if (images.length === 0) throw refused('it names no image');
    // every image is checked before any is published
    const naming = BundleImporter.naming(opts, layout?.annotations ?? {}, digest);
    const missing = layout?.annotations[BERTH_DELTA] === 'true' ? new Set<string>() : undefined;
    const plans = [];
    const listed = opts.platforms ?? layout?.annotations[BERTH_PLATFORMS]?.split(',');
    const platforms = listed?.map(parsePlatform);
    for (const image of images) plans.push({ image, ...(await this.plan(files, extra, image, missing, platforms)) });
    if (missing?.size) {
      const list = [...missing].sort();
      throw new RegistryError('BLOB_UNKNOWN', `bundle refused: it is a delta bundle and ${list.length} blob(s) it relies on are not in this registry: ${list.join(', ')}`, {
        status: 400,
        detail: { missing: list },
      });
    }
    const report: ImportReport = { bundle: { ...naming, digest }, images: [], blobs: 0, manifests: 0, ms: 0 };
    for (const { image, nodes, blobs } of plans) {
      for (const [digest, size] of blobs) {
        await this.registry.uploads.link(image.repository, parseDigest(digest), size);
        report.blobs++;
      }
      for (const node of nodes) {
        const top = node.digest === image.digest;
        await this.registry.manifests.put(image.repository, top && image.tag ? image.tag : node.digest, node.mediaType, node.bytes, node.platforms ? { platforms: node.platforms } : {});
        report.manifests++;
      }
      const done: ImportedImage = { repository: image.repository, digest: image.digest };
      if (image.tag) done.tag = image.tag;
      report.images.push(done);
    }
    await this.announce(report.images);
    await this.registry.bundles.record({ ...naming, digest, importedAt: Date.now(), images: report.images });
    report.ms = Date.now() - started;
    return report;
  }

  /** A bundle.imported event per repository (events on), after every image of it is in. */
  private async announce(images: ImportedImage[]): Promise<void> {
    const byRepo = new Map<string, { tag?: string; digest: string }[]>();
    for (const { repository, ...image } of images) {
      const list = byRepo.get(repository);
      if (list) list.push(image);
      else byRepo.set(repository, [image]);
    }
    const at = Date.now();
    for (const [repo, list] of byRepo) await this.registry.events.appendEvent({ type: 'bundle.imported', repo, at, data: { images: list } });
  }
}


