/**
 * What berth remembers of each imported bundle: its name and version, the digest of its bytes, when
 * it was first imported, and the images it brought. `berth bundles list|remove` and retention's
 * "keep the images of the last N versions of each bundle" read these.
 *
 * A bundle is named by its index.json annotations (BUNDLE_NAME, BUNDLE_VERSION: berth export --name
 * --version writes them), else by `--name`/`--version` at import, else by its file name (without .tar,
 * .tar.gz, .tgz) and the first 12 hex digits of its digest.
 */
import { RegistryError } from '../oci/errors.js';

export const BUNDLE_NAME = 'dev.berth.bundle.name';
export const BUNDLE_VERSION = 'dev.berth.bundle.version';

export interface BundleImage {
  repository: string;
  tag?: string;
  digest: string;
}

export interface BundleRecord {
  name: string;
  version: string;
  /** The bundle's bytes as read (`sha256sum` of the tar, compressed or not); a directory's: its index.json's. */
  digest: string;
  /** When this name@version was first imported (ms since the epoch); importing it again keeps it. */
  importedAt: number;
  images: BundleImage[];
}

/** Bundle records in the index (both engines; test/shared/index.suite.ts). */
export interface BundleIndex {
  /** Records an import; a name@version already recorded keeps its first importedAt. */
  putBundle(record: BundleRecord): Promise<void>;
  /** Every record, by name, then oldest import first. */
  listBundles(): Promise<BundleRecord[]>;
  /** False when there was no such record. */
  deleteBundle(name: string, version: string): Promise<boolean>;
}

/** Sorts records by name, then by first import (then version: a stable order for equal times). */
export function bundleOrder(a: BundleRecord, b: BundleRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.importedAt - b.importedAt || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0);
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function checkBundleName(name: string): string {
  if (!NAME.test(name)) throw new RegistryError('NAME_INVALID', `bundle name "${name.slice(0, 140)}": lowercase letters, digits, '.', '_' and '-', at most 128`);
  return name;
}

export function checkBundleVersion(version: string): string {
  if (!VERSION.test(version)) throw new RegistryError('NAME_INVALID', `bundle version "${version.slice(0, 140)}": letters, digits, '.', '_', '+' and '-', at most 128`);
  return version;
}

/** A bundle's name from its file's (`edge-apps-1.2.tar.gz`, or a part `edge-apps-1.2.tar.part1of3` -> `edge-apps-1.2`), made valid. */
export function nameFromFile(file: string): string {
  const base = file.split(/[\\/]/).filter((p) => p !== '').pop() ?? '';
  const stem = base.replace(/\.part\d+of\d+$/i, '').replace(/(\.tar(\.gz|\.zst)?|\.tgz)$/i, '');
  const name = stem.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 128);
  return name === '' ? 'bundle' : name;
}

/** `NAME@VERSION` as the command line and the API take it. */
export function parseBundleRef(ref: string): { name: string; version: string } {
  const at = ref.lastIndexOf('@');
  if (at <= 0) throw new RegistryError('NAME_INVALID', `"${ref.slice(0, 140)}": name a bundle as NAME@VERSION (berth bundles list shows them)`);
  return { name: checkBundleName(ref.slice(0, at)), version: checkBundleVersion(ref.slice(at + 1)) };
}
