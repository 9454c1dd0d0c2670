/**
 * What the web UI's JSON API (src/ui/api.ts) answers, shared by the server and the browser code
 * (src/ui/web, a compile of its own): a declaration file, so neither side emits or imports code for it.
 */
export interface ImageSummary {
  digest: string;
  mediaType: string;
  artifactType?: string;
  size: number;
  pushedAt: number;
  /** For an index: `os/architecture[/variant]` of each child that names a platform. */
  platforms?: string[];
}

export interface ProjectRow {
  /** '' for repositories whose name has no '/' */
  name: string;
  repositories: number;
  /** Distinct blob bytes linked by its repositories. */
  size: number;
}

export interface RepositoryRow {
  name: string;
  tags: number;
  size: number;
  updatedAt?: number;
}

export interface TagRow extends ImageSummary {
  tag: string;
}

export interface LayerRow {
  digest: string;
  size: number;
  mediaType: string;
  annotations?: Record<string, string>;
}

export interface ConfigView {
  digest: string;
  mediaType: string;
  size: number;
  /** The config blob is not stored here (a mirror that has not fetched it yet). */
  missing?: boolean;
  created?: string;
  author?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  labels?: Record<string, string>;
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
  history?: { created?: string; createdBy?: string; comment?: string; emptyLayer?: boolean }[];
}

export interface ReferrerNode {
  digest: string;
  mediaType: string;
  artifactType?: string;
  size: number;
  annotations?: Record<string, string>;
  referrers: ReferrerNode[];
}

export interface PlatformRow {
  platform?: string;
  digest: string;
  mediaType: string;
  size: number;
  /** Whether the child manifest is stored in this repository. */
  present: boolean;
}

export interface ImageView extends ImageSummary {
  repository: string;
  reference: string;
  kind: 'image' | 'index';
  manifestSize: number;
  tags: string[];
  annotations?: Record<string, string>;
  subject?: string;
  manifests?: PlatformRow[];
  config?: ConfigView;
  layers?: LayerRow[];
  referrers: ReferrerNode[];
  /** How many referrers the tree left out (past MAX_REFERRERS or MAX_DEPTH). */
  referrersOmitted: number;
}

export interface SessionInfo {
  auth: boolean;
  user: string | null;
  admin: boolean;
  csrf: string | null;
  anonymousRead: boolean;
  deleteEnabled: boolean;
}

export interface ProjectsResponse {
  projects: ProjectRow[];
  computedAt: number;
}

export interface RepositoriesResponse {
  total: number;
  items: RepositoryRow[];
  offset: number;
  limit: number;
}

export interface TagsResponse {
  repository: string;
  canDelete: boolean;
  total: number;
  items: TagRow[];
  /** The `last` of the next page, when more remain. */
  next?: string;
}

export interface ImageResponse extends ImageView {
  canDelete: boolean;
  pull: { byTag?: string; byDigest: string };
}
