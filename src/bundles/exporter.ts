/**
 * `berth export IMAGE... -o FILE`: an OCI image layout (image-spec "Image Layout") as one
 * tar: oci-layout, blobs/<alg>/<hex> for every manifest and blob, index.json naming each image.
 * The tar is deterministic (sorted blobs, zero times and owners), so exporting the same images twice,
 * or from a registry that imported the bundle, gives the same bytes. Everything is checked to be
 * there before the first byte is written.
 *
 * With `--platform`, each index is carried as it is (its digest is what clients resolve) but only the
 * children of those platforms (and their attestations) go with it; index.json names the platforms
 * (BERTH_PLATFORMS) so the importing registry keeps that index sparse on purpose too.
 *
 * A delta bundle (`--exclude-from` a site's inventory) leaves out the blobs the site holds; manifests
 * are always carried. Its index.json says so (the BERTH_DELTA annotation), so the importer knows to
 * find those blobs in its own store, and other tools see an image layout that is incomplete on purpose.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../oci/errors.js';
import { parseDigest } from '../oci/digest.js';
import { checkName } from '../oci/names.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { Registry } from '../registry/registry.js';
import { BERTH_DELTA, BERTH_PLATFORMS, BERTH_REPOSITORY, BERTH_TAG } from './importer.js';
import { keptChildren, parsePlatform, platformName } from '../oci/platforms.js';
import { parseManifest } from '../oci/manifest.js';
import { BUNDLE_NAME, BUNDLE_VERSION, checkBundleName, checkBundleVersion } from './records.js';
import { planParts } from './parts.js';

export interface ExportReport {
  images: number;
  blobs: number;
  bytes: number;
  /** A delta bundle's blobs left out because the site holds them. */
  excluded?: { blobs: number; bytes: number };
}

export interface ExportOptions {
  /** Blob digests the receiving site holds (its inventory): a delta bundle leaves them out. */
  exclude?: ReadonlySet<string>;
  /** The bundle's name and version, for the record its import makes (records.ts). */
  name?: string;
  version?: string;
  /** Only these platforms' children of each index (os/arch[/variant]); the index itself as it is. */
  platforms?: string[];
}

/** `repo:tag`, `repo@sha256:...` or `repo` (tag latest), in this registry's own names. */
export function parseLocalImage(image: string): { repository: string; ref: string; tag?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: checkName(image.slice(0, at)), ref: parseDigest(image.slice(at + 1)).value };
  const colon = image.lastIndexOf(':');
  const tag = colon > image.lastIndexOf('/') ? image.slice(colon + 1) : 'latest';
  const repository = checkName(colon > image.lastIndexOf('/') ? image.slice(0, colon) : image);
  return { repository, ref: tag, tag };
}

/** What an export will write, checked to be all there. */
export interface ExportPlan {
  manifests: Map<string, Buffer>;
  blobs: Map<string, number>;
  index: object[];
  /** Bytes of blobs and manifests (the tar adds headers). */
  bytes: number;
  /** Set for a delta bundle: the blobs left out. */
  excluded?: { blobs: number; bytes: number };
  /** index.json's own annotations: a delta, the bundle's name and version. */
  annotations: Record<string, string>;
}

export class BundleExporter {
  constructor(
    private readonly registry: Registry,
    private readonly store: BlobStore,
  ) {}

  async plan(images: string[], opts: ExportOptions = {}): Promise<ExportPlan> {
    return planExport(this.registry, this.store, images, opts);
  }

  async write(plan: ExportPlan, out: Writable): Promise<ExportReport> {
    return writeExport(this.store, plan, out);
  }
}

async function planExport(registry: Registry, store: BlobStore, images: string[], opts: ExportOptions): Promise<ExportPlan> {
  const manifests = new Map<string, Buffer>();
  const blobs = new Map<string, number>();
  const excluded = new Map<string, number>();
  const index: object[] = [];
  const wanted = opts.platforms?.map(parsePlatform);
  // the platforms the bundle holds: those asked for, or those of sparse indexes met on the way
  const platforms = new Set(wanted?.map(platformName));
  for (const image of images) {
    const { repository, ref, tag } = parseLocalImage(image);
    const top = await registry.manifests.get(repository, ref);
    const walk = async (digest: string, depth: number): Promise<void> => {
      const { record, bytes } = await registry.manifests.get(repository, digest);
      manifests.set(record.digest, bytes);
      if (depth > 8) throw new RegistryError('MANIFEST_INVALID', `manifests nest too deep under ${image}`);
      let children = record.manifests;
      const only = wanted ?? record.platforms?.map(parsePlatform);
      if (only && children.length) {
        const kept = keptChildren(parseManifest(bytes, record.mediaType).children ?? [], only);
        children = children.filter((c) => kept.has(c));
        for (const p of record.platforms ?? []) if (!wanted) platforms.add(p);
      }
      for (const child of children) await walk(child, depth + 1);
      for (const b of record.blobs) {
        const s = await store.stat(parseDigest(b));
        if (!s) throw new RegistryError('BLOB_UNKNOWN', `${image}: blob ${b} is not stored here (a mirrored image never pulled whole?)`);
        if (opts.exclude?.has(b)) excluded.set(b, s.size);
        else blobs.set(b, s.size);
      }
    };
    await walk(top.record.digest, 0);
    const annotations: Record<string, string> = { 'org.opencontainers.image.ref.name': tag ? `${repository}:${tag}` : `${repository}@${ref}`, [BERTH_REPOSITORY]: repository };
    if (tag) annotations[BERTH_TAG] = tag;
    index.push({ mediaType: top.record.mediaType, digest: top.record.digest, size: top.record.size, annotations });
  }
  let bytes = 0;
  for (const b of manifests.values()) bytes += b.length;
  for (const n of blobs.values()) bytes += n;
  const annotations: Record<string, string> = {};
  if (opts.name !== undefined) annotations[BUNDLE_NAME] = checkBundleName(opts.name);
  if (opts.version !== undefined) annotations[BUNDLE_VERSION] = checkBundleVersion(opts.version);
  if (opts.exclude) annotations[BERTH_DELTA] = 'true';
  if (platforms.size) annotations[BERTH_PLATFORMS] = [...platforms].sort().join(',');
  const plan: ExportPlan = { manifests, blobs, index, bytes, annotations };
  if (opts.exclude) plan.excluded = { blobs: excluded.size, bytes: [...excluded.values()].reduce((a, n) => a + n, 0) };
  return plan;
}

/** The tar's entries in order: oci-layout, every manifest and blob by digest, index.json last. */
function entriesOf(plan: ExportPlan): { name: string; size: number; digest?: string; bytes?: Buffer }[] {
  const { manifests, blobs, index } = plan;
  const out: { name: string; size: number; digest?: string; bytes?: Buffer }[] = [];
  const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}');
  out.push({ name: 'oci-layout', size: layout.length, bytes: layout });
  for (const digest of [...new Set([...manifests.keys(), ...blobs.keys()])].sort()) {
    const d = parseDigest(digest);
    const bytes = manifests.get(digest);
    out.push({ name: `blobs/${d.algorithm}/${d.hex}`, size: bytes?.length ?? blobs.get(digest)!, digest, ...(bytes ? { bytes } : {}) });
  }
  const top: Record<string, unknown> = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index };
  if (Object.keys(plan.annotations).length) top.annotations = plan.annotations;
  const indexJson = Buffer.from(JSON.stringify(top));
  out.push({ name: 'index.json', size: indexJson.length, bytes: indexJson });
  return out;
}

function reportOf(plan: ExportPlan): ExportReport {
  const report: ExportReport = { images: plan.index.length, blobs: 0, bytes: 0 };
  for (const b of plan.manifests.values()) (report.blobs++, (report.bytes += b.length));
  for (const [d, n] of plan.blobs) if (!plan.manifests.has(d)) (report.blobs++, (report.bytes += n));
  if (plan.excluded) report.excluded = plan.excluded;
  return report;
}

async function writeExport(store: BlobStore, plan: ExportPlan, out: Writable): Promise<ExportReport> {
  const { default: tar } = await import('tar-stream'); // loaded on the first export, not at start
  const pack = tar.pack();
  const writing = pipeline(pack, out);
  const header = (name: string, size: number) => ({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const });
  const add = (name: string, bytes: Buffer) => new Promise<void>((res, rej) => pack.entry(header(name, bytes.length), bytes, (err) => (err ? rej(err) : res())));
  try {
    for (const e of entriesOf(plan)) {
      if (e.bytes) await add(e.name, e.bytes);
      else {
        const blob = await store.open(parseDigest(e.digest!));
        if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob ${e.digest} vanished during the export`);
        await pipeline(blob.stream(), pack.entry(header(e.name, blob.size)));
      }
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    throw err;
  }
  await writing;
  return reportOf(plan);
}

/** What `--split SIZE` will write: the part count and the bundle id its parts carry (parts.ts). */
export function splitPlan(plan: ExportPlan, partSize: number): { parts: number; bundle: string } {
  return planParts(entriesOf(plan), partSize);
}
