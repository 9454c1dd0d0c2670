/** The LevelDB MetadataIndex. Key schema: keys.ts. */
import { Level } from 'level';
import type { Descriptor } from '../oci/manifest.js';
import { END, firstPart, keys, lastPart, suffix, tagFromSortKey, tagSortKey, twoParts } from './keys.js';
import { GroupCommit } from './group-commit.js';
import type { ManifestRecord, MetadataIndex, Page, UploadRecord } from './metadata.js';

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const text = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);

export class LevelIndex implements MetadataIndex {
  private readonly db: Level<string, Buffer>;
  private readonly durable: GroupCommit<Op>;
  /** Repositories known to be in the catalog: spares a read on every link and manifest write. */
  private readonly knownRepos = new Set<string>();

  /** `sync`: writes that acknowledge content are on disk before they return (the log is fsynced). */
  constructor(
    location: string,
    private readonly sync: boolean,
  ) {
    this.db = new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', cacheSize: 2 * 1024 * 1024, writeBufferSize: 1024 * 1024, maxOpenFiles: 256 });
    this.durable = new GroupCommit({ write: (ops) => this.db.batch(ops, { sync: this.sync }) });
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Content-acknowledging writes: synced, group-committed. */
  private commit(ops: Op[]): Promise<void> {
    return this.durable.submit(ops);
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.db.get(key);
    return v === undefined ? undefined : (JSON.parse(v.toString('utf8')) as T);
  }

  /** Keys under `prefix`, after `after` (exclusive), at most `limit`, with the prefix removed. */
  private async scanKeys(prefix: string, page: Page): Promise<string[]> {
    const range = page.after === undefined ? { gte: prefix } : { gt: prefix + page.after };
    // all(): the native iterator hands keys over in large batches, not one promise per key.
    const keys = await this.db.keys({ ...range, lt: prefix + END, limit: page.limit }).all();
    return keys.map((k) => suffix(k, prefix));
  }

  private async repoOps(repo: string): Promise<Op[]> {
    if (this.knownRepos.has(repo)) return [];
    if ((await this.db.get(keys.repo(repo))) !== undefined) {
      if (this.knownRepos.size >= 8_192) this.knownRepos.clear(); // bounded (about 0.5 MiB): a miss only costs a read
      this.knownRepos.add(repo);
      return [];
    }
    return [{ type: 'put', key: keys.repo(repo), value: json({ createdAt: Date.now() }) }];
  }

  // --- repositories -------------------------------------------------------------------------
  listRepositories(page: Page): Promise<string[]> {
    return this.scanKeys(keys.repoPrefix(), page);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return (await this.db.get(keys.repo(repo))) !== undefined;
  }

  // --- blob links ---------------------------------------------------------------------------
  blobLink(repo: string, digest: string): Promise<{ size: number } | undefined> {
    return this.getJson(keys.blobLink(repo, digest));
  }

  async linkBlob(repo: string, digest: string, size: number, endUpload?: string): Promise<void> {
    const ops: Op[] = [
      ...(await this.repoOps(repo)),
      { type: 'put', key: keys.blobLink(repo, digest), value: json({ size, linkedAt: Date.now() }) },
      { type: 'put', key: keys.blobRepo(digest, repo), value: EMPTY },
    ];
    if (endUpload !== undefined) ops.push({ type: 'del', key: keys.upload(endUpload) });
    await this.commit(ops);
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    if ((await this.db.get(keys.blobLink(repo, digest))) === undefined) return false;
    await this.commit([
      { type: 'del', key: keys.blobLink(repo, digest) },
      { type: 'del', key: keys.blobRepo(digest, repo) },
    ]);
    return true;
  }

  async listBlobLinks(repo: string): Promise<{ digest: string; size: number; linkedAt: number }[]> {
    const prefix = keys.blobLinkPrefix(repo);
    const out: { digest: string; size: number; linkedAt: number }[] = [];
    for (const [k, v] of await this.db.iterator({ gte: prefix, lt: prefix + END }).all()) {
      const { size, linkedAt } = JSON.parse(v.toString('utf8')) as { size: number; linkedAt: number };
      out.push({ digest: suffix(k, prefix), size, linkedAt });
    }
    return out;
  }

  async *allBlobLinks(): AsyncIterable<{ repo: string; digest: string; size: number }> {
    const prefix = keys.allBlobLinksPrefix();
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefix + END })) {
      const [repo, digest] = twoParts(k, prefix);
      yield { repo, digest, size: (JSON.parse(v.toString('utf8')) as { size: number }).size };
    }
  }

  reposWithBlob(digest: string, limit: number): Promise<string[]> {
    return this.scanKeys(keys.blobRepoPrefix(digest), { limit });
  }

  // --- manifests ----------------------------------------------------------------------------
  manifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    return this.getJson(keys.manifest(repo, digest));
  }

  manifestBytes(digest: string): Promise<Buffer | undefined> {
    return this.db.get(keys.manifestBytes(digest));
  }

  async putManifest(repo: string, record: ManifestRecord, bytes: Buffer, referrer: Descriptor | undefined, tag?: string): Promise<void> {
    const ops: Op[] = [
      ...(await this.repoOps(repo)),
      { type: 'put', key: keys.manifestBytes(record.digest), value: bytes },
      { type: 'put', key: keys.manifest(repo, record.digest), value: json(record) },
    ];
    if (record.subject && referrer) {
      ops.push({ type: 'put', key: keys.referrer(repo, record.subject, record.digest), value: json(referrer) });
    }
    if (tag !== undefined) {
      const old = (await this.db.get(keys.tag(repo, tag)))?.toString('utf8');
      if (old !== undefined && old !== record.digest) ops.push({ type: 'del', key: keys.tagOf(repo, old, tag) });
      ops.push({ type: 'put', key: keys.tag(repo, tag), value: text(record.digest) });
      ops.push({ type: 'put', key: keys.tagOf(repo, record.digest, tag), value: EMPTY });
    }
    await this.commit(ops);
  }

  async deleteManifest(repo: string, digest: string): Promise<string[] | undefined> {
    const record = await this.manifest(repo, digest);
    if (!record) return undefined;
    const ops: Op[] = [{ type: 'del', key: keys.manifest(repo, digest) }];
    if (record.subject) ops.push({ type: 'del', key: keys.referrer(repo, record.subject, digest) });
    const tags = await this.scanKeys(keys.tagOfPrefix(repo, digest), { limit: Infinity });
    for (const tag of tags) {
      ops.push({ type: 'del', key: keys.tag(repo, tag) }, { type: 'del', key: keys.tagOf(repo, digest, tag) });
    }
    await this.commit(ops);
    return tags;
  }

  tagsOf(repo: string, digest: string): Promise<string[]> {
    return this.scanKeys(keys.tagOfPrefix(repo, digest), { limit: Infinity });
  }

  async listReferrers(repo: string, subject: string): Promise<Descriptor[]> {
    const prefix = keys.referrerPrefix(repo, subject);
    const out: Descriptor[] = [];
    for await (const v of this.db.values({ gte: prefix, lt: prefix + END })) out.push(JSON.parse(v.toString('utf8')) as Descriptor);
    return out;
  }

  async listManifests(repo: string): Promise<ManifestRecord[]> {
    const prefix = keys.manifestPrefix(repo);
    return (await this.db.values({ gte: prefix, lt: prefix + END }).all()).map((v) => JSON.parse(v.toString('utf8')) as ManifestRecord);
  }

  async taggedDigests(repo: string): Promise<Set<string>> {
    const prefix = keys.tagsOfRepoPrefix(repo);
    return new Set((await this.db.keys({ gte: prefix, lt: prefix + END }).all()).map((k) => firstPart(k, prefix)));
  }

  async orphanManifestBytes(): Promise<string[]> {
    const mPrefix = keys.allManifestsPrefix();
    const used = new Set((await this.db.keys({ gte: mPrefix, lt: mPrefix + END }).all()).map(lastPart));
    const dPrefix = keys.manifestBytesPrefix();
    return (await this.db.keys({ gte: dPrefix, lt: dPrefix + END }).all()).map((k) => suffix(k, dPrefix)).filter((d) => !used.has(d));
  }

  async recordPulls(entries: { repo: string; digest: string; at: number }[]): Promise<void> {
    if (entries.length) await this.db.batch(entries.map((e) => ({ type: 'put' as const, key: keys.pulled(e.repo, e.digest), value: text(String(e.at)) })), { sync: false });
  }

  async pulledAt(repo: string, digest: string): Promise<number | undefined> {
    const v = await this.db.get(keys.pulled(repo, digest));
    return v === undefined ? undefined : Number(v.toString('utf8'));
  }

  async *eachManifestBytes(): AsyncIterable<{ digest: string; bytes: Buffer }> {
    const prefix = keys.manifestBytesPrefix();
    for await (const [k, v] of this.db.iterator({ gte: prefix, lt: prefix + END })) yield { digest: suffix(k, prefix), bytes: v };
  }

  async deleteManifestBytes(digests: string[]): Promise<void> {
    if (digests.length) await this.commit(digests.map((d) => ({ type: 'del' as const, key: keys.manifestBytes(d) })));
  }

  // --- tags ---------------------------------------------------------------------------------
  async tag(repo: string, tag: string): Promise<string | undefined> {
    return (await this.db.get(keys.tag(repo, tag)))?.toString('utf8');
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const after = page.after === undefined ? undefined : tagSortKey(page.after);
    return (await this.scanKeys(keys.tagPrefix(repo), { limit: page.limit, after })).map(tagFromSortKey);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const digest = await this.tag(repo, tag);
    if (digest === undefined) return false;
    await this.commit([
      { type: 'del', key: keys.tag(repo, tag) },
      { type: 'del', key: keys.tagOf(repo, digest, tag) },
    ]);
    return true;
  }

  // --- uploads ------------------------------------------------------------------------------
  upload(id: string): Promise<UploadRecord | undefined> {
    return this.getJson(keys.upload(id));
  }

  async listUploads(): Promise<UploadRecord[]> {
    const prefix = keys.uploadPrefix();
    const values = await this.db.values({ gte: prefix, lt: prefix + END }).all();
    return values.map((v) => JSON.parse(v.toString('utf8')) as UploadRecord);
  }

  /**
   * Session records are not synced: a session is not acknowledged content, and one lost in a crash
   * only makes its client start that blob again. (The blob a session completes is synced with its link.)
   */
  async putUpload(record: UploadRecord): Promise<void> {
    await this.db.put(keys.upload(record.id), json(record), { sync: false });
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.del(keys.upload(id), { sync: false });
  }
}
