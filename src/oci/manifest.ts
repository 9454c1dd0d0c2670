/**
 * Manifest parsing and validation for PUT (distribution-spec v1.1 "Pushing Manifests"; image-spec
 * "Image Manifest", "Image Index", "Descriptor"). Pure: it reads bytes and returns what the registry
 * must check and record, or throws MANIFEST_INVALID.
 */
import { RegistryError } from './errors.js';
import { tryParseDigest } from './digest.js';
import { MT, baseMediaType, manifestKind, type ManifestKind } from './mediatypes.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: unknown;
}

export interface ParsedManifest {
  mediaType: string;
  kind: ManifestKind;
  /** Config and layers that must already be in the repository (non-distributable `urls` layers excluded). */
  blobs: string[];
  /** Child manifests of an index that must already be in the repository. */
  manifests: string[];
  /** An index's entries as written (platforms, annotations): what a platform filter reads. */
  children?: Descriptor[];
  subject?: Descriptor;
  /** The artifact type a referrers response reports (image-spec: artifactType, else config.mediaType). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where}: annotations must be a map of strings`);
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where}: descriptor must be an object`);
  const { mediaType, digest, size, artifactType, urls } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${where}: mediaType is required`);
  if (typeof digest !== 'string' || !tryParseDigest(digest)) throw invalid(`${where}: invalid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}: invalid size`);
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid(`${where}: invalid artifactType`);
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}: urls must be a list of strings`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (artifactType !== undefined) d.artifactType = artifactType;
  const annotations = stringMap(v.annotations, where);
  if (annotations) d.annotations = annotations;
  if (urls !== undefined) d.urls = urls as string[];
  if (v.platform !== undefined) d.platform = v.platform;
  return d;
}

function descriptorList(v: unknown, where: string): Descriptor[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`${where} must be a list`);
  return v.map((x, i) => parseDescriptor(x, `${where}[${i}]`));
}

/**
 * Decides the manifest's media type: the Content-Type of the PUT, which must agree with the
 * body's `mediaType` when both are set (spec: "the Content-Type header MUST match the manifest's
 * mediaType field"); a generic or missing Content-Type defers to the body.
 */
function resolveMediaType(contentType: string | undefined, body: Json): string {
  const header = baseMediaType(contentType);
  const field = body.mediaType;
  if (field !== undefined && typeof field !== 'string') throw invalid('mediaType must be a string');
  const headerIsManifest = header !== undefined && header !== 'application/json' && header !== 'application/octet-stream';
  if (headerIsManifest && field !== undefined && field !== header) {
    throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${field}`);
  }
  if (headerIsManifest) return header;
  if (field !== undefined) return field;
  // Neither names a type: an OCI manifest may omit mediaType, so go by its shape.
  if (Array.isArray(body.manifests)) return MT.ociIndex;
  if (isObject(body.config)) return MT.ociManifest;
  throw invalid('cannot determine the manifest media type');
}

export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(body)) throw invalid('manifest must be a JSON object');
  const mediaType = resolveMediaType(contentType, body);
  if (mediaType === MT.dockerSchema1 || mediaType === MT.dockerSchema1Signed) {
    throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  }
  const kind = manifestKind(mediaType);
  if (!kind) throw invalid(`unsupported manifest media type: ${mediaType}`);
  if (body.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const subject = body.subject === undefined ? undefined : parseDescriptor(body.subject, 'subject');
  const annotations = stringMap(body.annotations, 'manifest');
  if (body.artifactType !== undefined && typeof body.artifactType !== 'string') throw invalid('invalid artifactType');
  let artifactType = body.artifactType as string | undefined;
  const parsed: ParsedManifest = { mediaType, kind, blobs: [], manifests: [] };

  if (kind === 'image') {
    const config = parseDescriptor(body.config, 'config');
    const layers = descriptorList(body.layers, 'layers');
    if (body.layers === undefined && mediaType === MT.dockerManifest) throw invalid('layers is required');
    parsed.blobs = [config.digest, ...layers.filter((l) => !l.urls || l.urls.length === 0).map((l) => l.digest)];
    // image-spec "Listing Referrers": an image manifest without artifactType reports config.mediaType.
    artifactType ??= config.mediaType;
  } else {
    if (!Array.isArray(body.manifests)) throw invalid('manifests is required');
    parsed.children = descriptorList(body.manifests, 'manifests');
    parsed.manifests = parsed.children.map((m) => m.digest);
  }
  if (subject) parsed.subject = subject;
  if (artifactType !== undefined) parsed.artifactType = artifactType;
  if (annotations) parsed.annotations = annotations;
  return parsed;
}
