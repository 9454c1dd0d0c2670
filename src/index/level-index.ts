/** The LevelDB MetadataIndex. Key schema: keys.ts. */
import { Level } from 'level';
import type { Descriptor } from '../oci/manifest.js';
import { END, firstPart, keys, lastPart, suffix, tagFromSortKey, tagSortKey, twoParts } from './keys.js';
import { GroupCommit } from './group-commit.js';
import { DigestBatch } from './digest-batch.js';
import { unmapTables } from './level-tables.js';
import type { ChangeEvent, EventRouter, ManifestRecord, MetadataIndex, Page, QueuedEvent, ResolvedManifest, UploadRecord } from './metadata.js';
import type { RobotRecord } from '../auth/robots.js';
import type { BundleRecord } from '../bundles/records.js';
import { LevelRecords } from './level-records.js';
import { tagList } from './metadata.js';
import { pushEvents, withCurrentActor } from './change-events.js';
import { LevelEventQueues } from './level-events.js';
import { TEXT, json, type Op } from './level-values.js';

const text = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);

/** Entries in the first batch of a short scan, and in each later one (see LevelIndex.scan). */
const FIRST_BATCH = 16;
const NEXT_BATCH = 256;

/**
 * LevelDB keeps in memory, for every open table, its index block (one key per data block) and its
 * Bloom filter, besides its block cache. Keys here are long (repository names and digests: 80-140
 * bytes), so with LevelDB's 4 KiB blocks the index blocks alone took 80 KiB per 2 MiB table (1.8 MiB
 * of the 4.7 MiB LevelDB held after 100,000 manifests) and grew with the store. 16 KiB blocks make
 * them a quarter of that; a point read that misses the cache reads 16 KiB from the page cache
 * instead of 4 (hot reads are answered above LevelDB). The block cache holds 1 MiB: lookups of this
 * schema rarely return to a block soon. RSS after loading 100,000 manifests, 20 s idle, against the
 * empty store: +9.9 to +11.0 MiB, was +13.2 to +13.9.
 */
const LEVEL_OPTIONS = { cacheSize: 1024 * 1024, blockSize: 16 * 1024, writeBufferSize: 1024 * 1024, maxOpenFiles: 256 };

interface Batches<T> {
  nextv(size: number): Promise<T[]>;
  close(): Promise<void>;
}

async function readAll<T>(it: Batches<T>): Promise<T[]> {
  const out: T[] = [];
  try {
    for (let size = FIRST_BATCH; ; size = NEXT_BATCH) {
      const batch = await it.nextv(size);
      if (batch.length === 0) return out;
      for (const item of batch) out.push(item);
    }
  } finally {
    await it.close();
  }
}

export class LevelIndex implements MetadataIndex {
  private readonly db: Level<string, Buffer>;
  private readonly durable: GroupCommit<Op>;
  /** Repositories known to be in the catalog: spares a read on every link and manifest write. */
  private readonly knownRepos = new Set<string>();
  private scanTurn: Promise<unknown> = Promise.resolve();
  /** Robot accounts and bundle records: small records read and written whole. */
  private readonly records: LevelRecords;
  /** The last event number given; read at open (events on only). */
  private eventSeq = 0;
  /** Repositories whose creation a write in flight announces: two first links make one event. */
  private readonly announcing = new Set<string>();
  /** The sinks' queues, read and emptied (they are written with the changes, below). */
  private readonly queues: LevelEventQueues;

  /**
   * `sync`: writes that acknowledge content are on disk before they return (the log is fsynced).
   * `events`: where each change's event goes (absent: events are off and none is recorded).
   */
  constructor(
    location: string,
    private readonly sync: boolean,
    private readonly events?: EventRouter,
  ) {
    unmapTables();
    this.db = new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', ...LEVEL_OPTIONS });
    this.durable = new GroupCommit({ write: (ops) => this.db.batch(ops, { sync: this.sync }) });
    this.queues = new LevelEventQueues(this.db, (open) => this.scan(open));
    this.records = new LevelRecords(this.db, {
      scan: (open) => this.scan(open),
      commit: (ops) => this.commit(ops),
      getText: (key) => this.getText(key),
    });
  }

  async open(): Promise<void> {
    await this.db.open();
    if (this.events) this.eventSeq = Number((await this.getText(keys.eventSeq())) ?? 0);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * A short range scan, read whole. classic-level frees an iterator's native half only when V8
   * collects the closed iterator's handle, and V8 does not see that memory, so it may wait long:
   * each such half keeps a vector reserved for its largest batch (64 bytes an entry: 64 KiB at
   * abstract-level's 1,000 entries per batch) and the batch's last entries. Most scans here read a
   * few entries: a first batch of FIRST_BATCH keeps their share small. Measured: a GC pass over
   * 10,000 repositories held 38 MiB of such vectors at its peak with batches of 1,000, 2 MiB now.
   * Scans also take turns: two at a time, more closed iterators wait for V8 at once (60,000 scans
   * two at a time grew the process by 79-89 MiB with batches of 1,000 and 22 MiB with these, one
   * at a time by 24 and 18 MiB; a GC pass peaked 7 MiB higher without turns). Long walks (GC,
   * usage, verification) run beside them: one long iterator next to short scans does not grow.
   */
  private scan<T>(open: () => Batches<T>): Promise<T[]> {
    const run = this.scanTurn.then(() => readAll(open()));
    this.scanTurn = run.catch(() => undefined);
    return run;
  }

  /** Content-acknowledging writes: synced, group-committed. */
  private commit(ops: Op[]): Promise<void> {
    return this.durable.submit(ops);
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.getText(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  private getText(key: string): Promise<string | undefined> {
    return this.db.get<string, string>(key, TEXT);
  }

  /** Keys under `prefix`, after `after` (exclusive), at most `limit`, with the prefix removed. */
  private async scanKeys(prefix: string, page: Page): Promise<string[]> {
    const range = page.after === undefined ? { gte: prefix } : { gt: prefix + page.after };
    const keys = await this.scan(() => this.db.keys({ ...range, lt: prefix + END, limit: page.limit }));
    return keys.map((k) => suffix(k, prefix));
  }

  private async repoOps(repo: string): Promise<Op[]> {
    if (this.knownRepos.has(repo)) return [];
    if (await this.db.has(keys.repo(repo))) {
      if (this.knownRepos.size >= 8_192) this.knownRepos.clear(); // bounded (about 0.5 MiB): a miss only costs a read
      this.knownRepos.add(repo);
      return [];
    }
    return [{ type: 'put', key: keys.repo(repo), value: json({ createdAt: Date.now() }) }];
  }

  /**
   * Writes `ops` with the events they describe (events on), numbered in the order they are committed:
   * numbers are given after the last await, so the group commit writes them in that order.
   * `creates`: the repository these ops add to the catalog (its event comes first).
   */
  private async commitWithEvents(ops: Op[], events: () => ChangeEvent[], creates?: string): Promise<void> {
    if (!this.events) return this.commit(ops);
    const all = events();
    const announced = creates !== undefined && !this.announcing.has(creates);
    if (announced) {
      this.announcing.add(creates);
      // dated with the change that creates it, so no event numbered after it is older
      all.unshift({ type: 'repository.created', repo: creates, at: all[0]?.at ?? Date.now(), data: {} });
    }
    try {
      const withEvents = [...ops, ...this.eventOps(all)];
      if (withEvents.length) await this.commit(withEvents);
    } finally {
      if (announced) this.announcing.delete(creates);
    }
  }

  private eventOps(events: ChangeEvent[]): Op[] {
    const ops: Op[] = [];
    for (const e of events) {
      const sinks = this.events!(e.type, e.repo);
      if (sinks.length === 0) continue;
      const seq = ++this.eventSeq;
      const value = json(withCurrentActor(e));
      for (const sink of sinks) ops.push({ type: 'put', key: keys.queuedEvent(sink, seq), value });
    }
    if (ops.length) ops.push({ type: 'put', key: keys.eventSeq(), value: text(String(this.eventSeq)) });
    return ops;
  }

  // --- repositories -------------------------------------------------------------------------
  listRepositories(page: Page): Promise<string[]> {
    return this.scanKeys(keys.repoPrefix(), page);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return this.db.has(keys.repo(repo));
  }

  // --- blob links ---------------------------------------------------------------------------
  blobLink(repo: string, digest: string): Promise<{ size: number } | undefined> {
    return this.getJson(keys.blobLink(repo, digest));
  }

  async linkBlob(repo: string, digest: string, size: number, endUpload?: string): Promise<void> {
    const created = await this.repoOps(repo);
    const ops: Op[] = [
      ...created,
      { type: 'put', key: keys.blobLink(repo, digest), value: json({ size, linkedAt: Date.now() }) },
      { type: 'put', key: keys.blobRepo(digest, repo), value: EMPTY },
    ];
    if (endUpload !== undefined) ops.push({ type: 'del', key: keys.upload(endUpload) });
    await this.commitWithEvents(ops, () => [], created.length ? repo : undefined);
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    if (!(await this.db.has(keys.blobLink(repo, digest)))) return false;
    await this.commit([
      { type: 'del', key: keys.blobLink(repo, digest) },
      { type: 'del', key: keys.blobRepo(digest, repo) },
    ]);
    return true;
  }

  async listBlobLinks(repo: string): Promise<{ digest: string; size: number; linkedAt: number }[]> {
    const prefix = keys.blobLinkPrefix(repo);
    const out: { digest: string; size: number; linkedAt: number }[] = [];
    for (const [k, v] of await this.scan(() => this.db.iterator<string, string>({ gte: prefix, lt: prefix + END, ...TEXT }))) {
      const { size, linkedAt } = JSON.parse(v) as { size: number; linkedAt: number };
      out.push({ digest: suffix(k, prefix), size, linkedAt });
    }
    return out;
  }

  async *allBlobLinks(): AsyncIterable<{ repo: string; digest: string; size: number }> {
    const prefix = keys.allBlobLinksPrefix();
    for await (const [k, v] of this.db.iterator<string, string>({ gte: prefix, lt: prefix + END, ...TEXT })) {
      const [repo, digest] = twoParts(k, prefix);
      yield { repo, digest, size: (JSON.parse(v) as { size: number }).size };
    }
  }

  async *blobHolders(): AsyncIterable<{ digest: string; repo: string }> {
    // A LevelDB iterator reads one snapshot, taken when it is created.
    const prefix = keys.allBlobReposPrefix();
    for await (const k of this.db.keys({ gte: prefix, lt: prefix + END })) {
      const [digest, repo] = twoParts(k, prefix);
      yield { digest, repo };
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

  async resolveManifest(repo: string, ref: { tag: string } | { digest: string }): Promise<ResolvedManifest | undefined> {
    const digest = 'tag' in ref ? await this.tag(repo, ref.tag) : ref.digest;
    if (digest === undefined) return undefined;
    const record = await this.manifest(repo, digest);
    const bytes = record && (await this.manifestBytes(digest));
    return { digest, ...(record ? { record } : {}), ...(bytes ? { bytes } : {}) };
  }

  async putManifest(repo: string, record: ManifestRecord, bytes: Buffer, referrer: Descriptor | undefined, tag?: string | readonly string[]): Promise<void> {
    const created = await this.repoOps(repo);
    const moved: { tag: string; from: string }[] = [];
    const ops: Op[] = [
      ...created,
      { type: 'put', key: keys.manifestBytes(record.digest), value: bytes },
      { type: 'put', key: keys.manifest(repo, record.digest), value: json(record) },
    ];
    if (record.subject && referrer) {
      ops.push({ type: 'put', key: keys.referrer(repo, record.subject, record.digest), value: json(referrer) });
    }
    for (const t of tagList(tag)) {
      const old = await this.getText(keys.tag(repo, t));
      if (old !== undefined && old !== record.digest) {
        ops.push({ type: 'del', key: keys.tagOf(repo, old, t) });
        moved.push({ tag: t, from: old });
      }
      ops.push({ type: 'put', key: keys.tag(repo, t), value: text(record.digest) });
      ops.push({ type: 'put', key: keys.tagOf(repo, record.digest, t), value: EMPTY });
    }
    await this.commitWithEvents(ops, () => pushEvents(repo, record, tagList(tag), moved), created.length ? repo : undefined);
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
    await this.commitWithEvents(ops, () => [{ type: 'manifest.deleted', repo, at: Date.now(), data: { digest, tags } }]);
    return tags;
  }

  tagsOf(repo: string, digest: string): Promise<string[]> {
    return this.scanKeys(keys.tagOfPrefix(repo, digest), { limit: Infinity });
  }

  async listReferrers(repo: string, subject: string): Promise<Descriptor[]> {
    const prefix = keys.referrerPrefix(repo, subject);
    return (await this.scan(() => this.db.values<string, string>({ gte: prefix, lt: prefix + END, ...TEXT }))).map((v) => JSON.parse(v) as Descriptor);
  }

  async listManifests(repo: string): Promise<ManifestRecord[]> {
    const prefix = keys.manifestPrefix(repo);
    return (await this.scan(() => this.db.values<string, string>({ gte: prefix, lt: prefix + END, ...TEXT }))).map((v) => JSON.parse(v) as ManifestRecord);
  }

  async taggedDigests(repo: string): Promise<Set<string>> {
    const prefix = keys.tagsOfRepoPrefix(repo);
    return new Set((await this.scan(() => this.db.keys({ gte: prefix, lt: prefix + END }))).map((k) => firstPart(k, prefix)));
  }

  async *orphanManifestBytes(batch = 65_536): AsyncIterable<string[]> {
    const dPrefix = keys.manifestBytesPrefix();
    const mPrefix = keys.allManifestsPrefix();
    for (let from = { gte: dPrefix } as { gte?: string; gt?: string }; ; ) {
      // One walk of every manifest record per batch; a batch of digests is 2 MiB, packed
      // (digest-batch.ts), whatever the store's size (a store within one batch is walked once).
      const digests = new DigestBatch(batch);
      let last: string | undefined;
      for await (const k of this.db.keys({ ...from, lt: dPrefix + END, limit: batch })) {
        digests.add(suffix(k, dPrefix));
        last = k;
      }
      if (last === undefined) return;
      for await (const k of this.db.keys({ gte: mPrefix, lt: mPrefix + END })) digests.mark(lastPart(k));
      const unused = digests.unmarked();
      if (unused.length > 0) yield unused;
      if (!digests.full) return;
      from = { gt: last };
    }
  }

  async recordPulls(entries: { repo: string; digest: string; at: number }[]): Promise<void> {
    if (entries.length) await this.db.batch(entries.map((e) => ({ type: 'put' as const, key: keys.pulled(e.repo, e.digest), value: text(String(e.at)) })), { sync: false });
  }

  async pulledAt(repo: string, digest: string): Promise<number | undefined> {
    const v = await this.getText(keys.pulled(repo, digest));
    return v === undefined ? undefined : Number(v);
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
    return this.getText(keys.tag(repo, tag));
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const after = page.after === undefined ? undefined : tagSortKey(page.after);
    return (await this.scanKeys(keys.tagPrefix(repo), { limit: page.limit, after })).map(tagFromSortKey);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const digest = await this.tag(repo, tag);
    if (digest === undefined) return false;
    const ops: Op[] = [
      { type: 'del', key: keys.tag(repo, tag) },
      { type: 'del', key: keys.tagOf(repo, digest, tag) },
    ];
    await this.commitWithEvents(ops, () => [{ type: 'tag.deleted', repo, at: Date.now(), data: { tag, digest } }]);
    return true;
  }

  // --- uploads ------------------------------------------------------------------------------
  upload(id: string): Promise<UploadRecord | undefined> {
    return this.getJson(keys.upload(id));
  }

  async listUploads(): Promise<UploadRecord[]> {
    const prefix = keys.uploadPrefix();
    const values = await this.scan(() => this.db.values<string, string>({ gte: prefix, lt: prefix + END, ...TEXT }));
    return values.map((v) => JSON.parse(v) as UploadRecord);
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

  // --- robot accounts and bundle records (level-records.ts) -------------------------------
  robot = (name: string) => this.records.robot(name);
  listRobots = () => this.records.listRobots();
  createRobot = (record: RobotRecord) => this.records.createRobot(record);
  revokeRobot = (name: string, at: number) => this.records.revokeRobot(name, at);
  noteRobotUse = (name: string, at: number) => this.records.noteRobotUse(name, at);
  putBundle = (record: BundleRecord) => this.records.putBundle(record);
  listBundles = () => this.records.listBundles();
  deleteBundle = (name: string, version: string) => this.records.deleteBundle(name, version);

  // --- event queues -------------------------------------------------------------------------
  async appendEvent(event: ChangeEvent): Promise<void> {
    if (this.events) await this.commitWithEvents([], () => [event]);
  }

  queuedEvents(sink: string, limit: number): Promise<QueuedEvent[]> {
    return this.queues.queued(sink, limit);
  }

  ackEvents(sink: string, seqs: readonly number[]): Promise<void> {
    return this.queues.ack(sink, seqs);
  }

  eventBacklog(): Promise<Map<string, { count: number; oldestAt: number }>> {
    return this.queues.backlog();
  }

  dropEvents(sink: string, count: number): Promise<void> {
    return this.queues.drop(sink, count);
  }

}
