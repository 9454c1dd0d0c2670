/**
 * The one owner of the LevelDB key schema. Keys are UTF-8 strings whose parts are joined by NUL,
 * which no repository name, tag or digest can contain, so each prefix scan is exact and LevelDB's
 * byte order is the lexical order the spec asks of `tags/list` and `_catalog`.
 *
 *   R \0 <repo>                              -> {createdAt}            the catalog
 *   B \0 <repo> \0 <digest>                  -> {size, linkedAt}       blobs a repository may read
 *   b \0 <digest> \0 <repo>                  -> ''                     reverse: repositories linking a blob
 *   D \0 <digest>                            -> manifest bytes         every manifest, by content digest
 *   M \0 <repo> \0 <digest>                  -> ManifestRecord         manifests of a repository
 *   T \0 <repo> \0 <lower(tag)> \0 <tag>     -> <digest>               tags, in the spec's case-insensitive order
 *   t \0 <repo> \0 <digest> \0 <tag>         -> ''                     reverse: tags of a manifest
 *   F \0 <repo> \0 <subject> \0 <digest>     -> Descriptor             referrers of a subject
 *   P \0 <repo> \0 <digest>                  -> <ms>                   last pull (flushed from memory each minute)
 *   U \0 <uuid>                              -> UploadRecord           blob-upload sessions
 *   Y \0 <name>                              -> RobotRecord            robot accounts (their secrets hashed)
 *   y \0 <name>                              -> <ms>                   a robot's last use (apart: never over a revocation)
 *   K \0 <name> \0 <version>                -> BundleRecord           imported bundles (berth bundles list)
 *   Q \0 <sink> \0 <seq, 16 digits>          -> ChangeEvent            events waiting for a sink, in order
 *   q \0 seq                                 -> <seq>                  the last event number given (never reused)
 */
const SEP = '\u0000';
/** Sorts after every character a name, tag or digest may hold: the end of a prefix range. */
export const END = '\uffff';

export const keys = {
  repo: (repo: string) => `R${SEP}${repo}`,
  repoPrefix: () => `R${SEP}`,
  blobLink: (repo: string, digest: string) => `B${SEP}${repo}${SEP}${digest}`,
  blobLinkPrefix: (repo: string) => `B${SEP}${repo}${SEP}`,
  allBlobLinksPrefix: () => `B${SEP}`,
  blobRepo: (digest: string, repo: string) => `b${SEP}${digest}${SEP}${repo}`,
  blobRepoPrefix: (digest: string) => `b${SEP}${digest}${SEP}`,
  allBlobReposPrefix: () => `b${SEP}`,
  manifestBytes: (digest: string) => `D${SEP}${digest}`,
  manifest: (repo: string, digest: string) => `M${SEP}${repo}${SEP}${digest}`,
  manifestPrefix: (repo: string) => `M${SEP}${repo}${SEP}`,
  allManifestsPrefix: () => `M${SEP}`,
  manifestBytesPrefix: () => `D${SEP}`,
  tagsOfRepoPrefix: (repo: string) => `t${SEP}${repo}${SEP}`,
  tag: (repo: string, tag: string) => `T${SEP}${repo}${SEP}${tagSortKey(tag)}`,
  tagPrefix: (repo: string) => `T${SEP}${repo}${SEP}`,
  tagOf: (repo: string, digest: string, tag: string) => `t${SEP}${repo}${SEP}${digest}${SEP}${tag}`,
  tagOfPrefix: (repo: string, digest: string) => `t${SEP}${repo}${SEP}${digest}${SEP}`,
  referrer: (repo: string, subject: string, digest: string) => `F${SEP}${repo}${SEP}${subject}${SEP}${digest}`,
  referrerPrefix: (repo: string, subject: string) => `F${SEP}${repo}${SEP}${subject}${SEP}`,
  pulled: (repo: string, digest: string) => `P${SEP}${repo}${SEP}${digest}`,
  upload: (id: string) => `U${SEP}${id}`,
  uploadPrefix: () => `U${SEP}`,
  robot: (name: string) => `Y${SEP}${name}`,
  robotPrefix: () => `Y${SEP}`,
  robotUse: (name: string) => `y${SEP}${name}`,
  bundle: (name: string, version: string) => `K${SEP}${name}${SEP}${version}`,
  bundlePrefix: () => `K${SEP}`,
  queuedEvent: (sink: string, seq: number) => `Q${SEP}${sink}${SEP}${String(seq).padStart(16, '0')}`,
  eventQueuePrefix: (sink: string) => `Q${SEP}${sink}${SEP}`,
  allEventQueuesPrefix: () => `Q${SEP}`,
  eventSeq: () => `q${SEP}seq`,
};

/**
 * distribution-spec "Listing Tags": tags MUST be in lexical, case-insensitive order. The key
 * leads with the lowercased tag so LevelDB's byte order is that order; the tag itself follows,
 * so `v1` and `V1` stay distinct (and sort in byte order between themselves).
 */
export function tagSortKey(tag: string): string {
  return `${tagOrder(tag)}${SEP}${tag}`;
}

/** What tags sort by first (then by the tag itself): the PostgreSQL index's sort_key column too. */
export function tagOrder(tag: string): string {
  return tag.toLowerCase();
}

export function tagFromSortKey(part: string): string {
  return part.slice(part.indexOf(SEP) + 1);
}

/** The last part of a key (the digest of an M key, the tag of a t key). */
export function lastPart(key: string): string {
  return key.slice(key.lastIndexOf(SEP) + 1);
}

/** The first part of a key after its prefix (the digest of a t key after its repository prefix). */
export function firstPart(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  const i = rest.indexOf(SEP);
  return i < 0 ? rest : rest.slice(0, i);
}

/** The two parts of a key after its prefix (the repository and digest of a B key). */
export function twoParts(key: string, prefix: string): [string, string] {
  const rest = key.slice(prefix.length);
  const i = rest.indexOf(SEP);
  return [rest.slice(0, i), rest.slice(i + 1)];
}

/** The part of a key after its prefix. */
export function suffix(key: string, prefix: string): string {
  return key.slice(prefix.length);
}
