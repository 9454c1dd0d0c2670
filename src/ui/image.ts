/**
 * One image as the details page shows it: its layers, what its config says (image-spec "Image
 * Configuration": created, labels, env, entrypoint, cmd, history), the platforms of an index, and the
 * referrers (signatures, SBOMs: distribution-spec "Listing Referrers") as a tree, since a referrer
 * may have referrers of its own.
 */
import { RegistryError } from '../oci/errors.js';
import { manifestKind } from '../oci/mediatypes.js';
import type { MetadataIndex } from '../index/metadata.js';
import type { Registry } from '../registry/registry.js';
import { IMAGE_CONFIG_TYPES, imageSummary, manifestJson, platformName, type DescriptorJson } from './summary.js';
import type { ConfigView, ImageView, PlatformRow, ReferrerNode } from './api-types.js';

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_REFERRERS = 200;
const MAX_DEPTH = 5;

interface ConfigJson {
  created?: string;
  author?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: {
    Labels?: Record<string, string> | null;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
  };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
const strMap = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : undefined;

/** Drops undefined and empty values so the JSON carries only what the config says. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && v !== null && Object.keys(v).length === 0)),
  ) as T;
}

export class ImageDetails {
  constructor(
    private readonly index: MetadataIndex,
    private readonly registry: Registry,
  ) {}

  async view(repo: string, reference: string): Promise<ImageView> {
    const m = await this.registry.manifests.get(repo, reference);
    const json = manifestJson(m.bytes);
    const kind = manifestKind(m.record.mediaType) ?? 'image';
    const budget = { left: MAX_REFERRERS, omitted: 0 };
    const [summary, tags, referrers] = await Promise.all([
      imageSummary(this.registry, repo, m),
      this.index.tagsOf(repo, m.record.digest),
      this.referrers(repo, m.record.digest, 0, budget),
    ]);
    const v: ImageView = { ...summary, repository: repo, reference, kind, manifestSize: m.record.size, tags: tags.sort(), referrers, referrersOmitted: budget.omitted };
    if (m.record.annotations) v.annotations = m.record.annotations;
    if (m.record.subject) v.subject = m.record.subject;
    if (kind === 'index') {
      v.manifests = await Promise.all(
        (json.manifests ?? []).map(async (d) => {
          // imageSummary just read these children: find() answers from the manifest cache
          const present = typeof d.digest === 'string' && (await this.registry.manifests.find(repo, d.digest)) !== undefined;
          const row: PlatformRow = { digest: String(d.digest), mediaType: String(d.mediaType), size: Number(d.size) || 0, present };
          const p = platformName(d.platform);
          if (p) row.platform = p;
          else if (d.annotations?.['vnd.docker.reference.type']) row.platform = d.annotations['vnd.docker.reference.type'];
          return row;
        }),
      );
      return v;
    }
    v.layers = (json.layers ?? []).map((l) => compact({ digest: String(l.digest), size: Number(l.size) || 0, mediaType: String(l.mediaType), annotations: l.annotations }));
    if (json.config) v.config = await this.config(repo, json.config);
    return v;
  }

  private async config(repo: string, d: DescriptorJson): Promise<ConfigView> {
    const base: ConfigView = { digest: String(d.digest), mediaType: String(d.mediaType), size: Number(d.size) || 0 };
    if (!IMAGE_CONFIG_TYPES.has(base.mediaType) || base.size > MAX_CONFIG_BYTES) return base;
    let c: ConfigJson;
    try {
      c = JSON.parse((await this.read(repo, base.digest, base.size)).toString('utf8')) as ConfigJson;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') return { ...base, missing: true };
      if (err instanceof SyntaxError) return base;
      throw err;
    }
    const cc = c.config ?? {};
    return compact({
      ...base,
      created: str(c.created),
      author: str(c.author),
      os: str(c.os),
      architecture: str(c.architecture),
      variant: str(c.variant),
      labels: strMap(cc.Labels),
      env: strs(cc.Env),
      entrypoint: strs(cc.Entrypoint),
      cmd: strs(cc.Cmd),
      workingDir: str(cc.WorkingDir),
      user: str(cc.User),
      exposedPorts: cc.ExposedPorts && typeof cc.ExposedPorts === 'object' ? Object.keys(cc.ExposedPorts) : undefined,
      history: Array.isArray(c.history)
        ? c.history.map((h) => compact({ created: str(h.created), createdBy: str(h.created_by), comment: str(h.comment), emptyLayer: h.empty_layer === true ? true : undefined }))
        : undefined,
    });
  }

  private async read(repo: string, digest: string, size: number): Promise<Buffer> {
    const { blob } = await this.registry.blobs.open(repo, digest);
    try {
      const buf = Buffer.alloc(Math.min(blob.size, size, MAX_CONFIG_BYTES));
      let n = 0;
      while (n < buf.length) {
        const got = await blob.read(buf.subarray(n), buf.length - n, n);
        if (got === 0) break;
        n += got;
      }
      return buf.subarray(0, n);
    } finally {
      await blob.close();
    }
  }

  private async referrers(repo: string, subject: string, depth: number, budget: { left: number; omitted: number }): Promise<ReferrerNode[]> {
    const list = await this.index.listReferrers(repo, subject);
    const out: ReferrerNode[] = [];
    for (const d of list) {
      if (budget.left <= 0 || depth >= MAX_DEPTH) {
        budget.omitted++;
        continue;
      }
      budget.left--;
      const node: ReferrerNode = { digest: d.digest, mediaType: d.mediaType, size: d.size, referrers: [] };
      if (d.artifactType !== undefined) node.artifactType = d.artifactType;
      if (d.annotations) node.annotations = d.annotations;
      node.referrers = await this.referrers(repo, d.digest, depth + 1, budget);
      out.push(node);
    }
    return out;
  }
}
