/** The LevelDB MetadataIndex. Key schema: keys.ts. */
import { Level } from 'level';
import type { Descriptor } from '../oci/manifest.js';
import { END, keys, suffix, tagFromSortKey, tagSortKey } from './keys.js';
import type { ManifestRecord, MetadataIndex, Page, UploadRecord } from './metadata.js';

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export class LevelIndex implements MetadataIndex {
  private readonly db: Level<string, string>;

  /** `sync`: every write is on disk before it returns (LevelDB's write-ahead log is fsynced). */
  constructor(
    location: string,
    private readonly sync: boolean,
  ) {
    this.db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private batch(ops: Op[]): Promise<void> {
    return this.db.batch(ops, { sync: this.sync });
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.db.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  /** Keys under `prefix`, after `after` (exclusive), at most `limit`, with the prefix removed. */
  private async scanKeys(prefix: string, page: Page): Promise<string[]> {
    const range = page.after === undefined ? { gte: prefix } : { gt: prefix + page.after };
    const out: string[] = [];
    for await (const k of this.db.keys({ ...range, lt: prefix + END, limit: page.limit })) out.push(suffix(k, prefix));
    return out;
  }

  private async repoOps(repo: string): Promise<Op[]> {
    if ((await this.db.get(keys.repo(repo))) !== undefined) return [];
    return [{ type: 'put', key: keys.repo(repo), value: JSON.stringify({ createdAt: Date.now() }) }];
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

  async linkBlob(repo: string, digest: string, size: number): Promise<void> {
    await this.batch([
      ...(await this.repoOps(repo)),
      { type: 'put', key: keys.blobLink(repo, digest), value: JSON.stringify({ size, linkedAt: Date.now() }) },
      { type: 'put', key: keys.blobRepo(digest, repo), value: '' },
    ]);
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    if ((await this.db.get(keys.blobLink(repo, digest))) === undefined) return false;
    await this.batch([
      { type: 'del', key: keys.blobLink(repo, digest) },
      { type: 'del', key: keys.blobRepo(digest, repo) },
    ]);
    return true;
  }

  reposWithBlob(digest: string, limit: number): Promise<string[]> {
    return this.scanKeys(keys.blobRepoPrefix(digest), { limit });
  }

  // --- manifests ----------------------------------------------------------------------------
  manifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    return this.getJson(keys.manifest(repo, digest));
  }

  async putManifest(repo: string, record: ManifestRecord, referrer: Descriptor | undefined, tag?: string): Promise<void> {
    const ops: Op[] = [
      ...(await this.repoOps(repo)),
      { type: 'put', key: keys.manifest(repo, record.digest), value: JSON.stringify(record) },
    ];
    if (record.subject && referrer) {
      ops.push({ type: 'put', key: keys.referrer(repo, record.subject, record.digest), value: JSON.stringify(referrer) });
    }
    if (tag !== undefined) {
      const old = await this.db.get(keys.tag(repo, tag));
      if (old !== undefined && old !== record.digest) ops.push({ type: 'del', key: keys.tagOf(repo, old, tag) });
      ops.push({ type: 'put', key: keys.tag(repo, tag), value: record.digest });
      ops.push({ type: 'put', key: keys.tagOf(repo, record.digest, tag), value: '' });
    }
    await this.batch(ops);
  }

  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    const record = await this.manifest(repo, digest);
    if (!record) return false;
    const ops: Op[] = [{ type: 'del', key: keys.manifest(repo, digest) }];
    if (record.subject) ops.push({ type: 'del', key: keys.referrer(repo, record.subject, digest) });
    const prefix = keys.tagOfPrefix(repo, digest);
    for (const tag of await this.scanKeys(prefix, { limit: Infinity })) {
      ops.push({ type: 'del', key: keys.tag(repo, tag) }, { type: 'del', key: keys.tagOf(repo, digest, tag) });
    }
    await this.batch(ops);
    return true;
  }

  async listReferrers(repo: string, subject: string): Promise<Descriptor[]> {
    const prefix = keys.referrerPrefix(repo, subject);
    const out: Descriptor[] = [];
    for await (const v of this.db.values({ gte: prefix, lt: prefix + END })) out.push(JSON.parse(v) as Descriptor);
    return out;
  }

  // --- tags ---------------------------------------------------------------------------------
  tag(repo: string, tag: string): Promise<string | undefined> {
    return this.db.get(keys.tag(repo, tag));
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const after = page.after === undefined ? undefined : tagSortKey(page.after);
    return (await this.scanKeys(keys.tagPrefix(repo), { limit: page.limit, after })).map(tagFromSortKey);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const digest = await this.db.get(keys.tag(repo, tag));
    if (digest === undefined) return false;
    await this.batch([
      { type: 'del', key: keys.tag(repo, tag) },
      { type: 'del', key: keys.tagOf(repo, digest, tag) },
    ]);
    return true;
  }

  // --- uploads ------------------------------------------------------------------------------
  upload(id: string): Promise<UploadRecord | undefined> {
    return this.getJson(keys.upload(id));
  }

  async putUpload(record: UploadRecord): Promise<void> {
    await this.batch([{ type: 'put', key: keys.upload(record.id), value: JSON.stringify(record) }]);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.batch([{ type: 'del', key: keys.upload(id) }]);
  }
}
