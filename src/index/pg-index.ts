/**
 * The PostgreSQL MetadataIndex (`metadata.driver: postgres`). Tables: pg-schema.ts. Every change the
 * LevelDB index makes as one batch is one statement here (data-modifying CTEs), so it is atomic and
 * costs one round trip; commits are synchronous (the server's `synchronous_commit`, left on).
 * Pages are keyset scans on a primary key or index, in byte order (COLLATE "C").
 */
import pg from 'pg';
import { EngineError } from '../config/config.js';
import type { Descriptor } from '../oci/manifest.js';
import { tagOrder } from './keys.js';
import type { ChangeEvent, EventRouter, ManifestRecord, MetadataIndex, Page, QueuedEvent, ResolvedManifest, SharedIndex, UploadRecord } from './metadata.js';
import { pushEvents, withCurrentActor } from './change-events.js';
import { tagList } from './metadata.js';
import type { RobotRecord } from '../auth/robots.js';
import type { BundleRecord } from '../bundles/records.js';
import { PgCoordination } from './pg-coordination.js';
import { pgAuth } from './pg-auth.js';
import { migrate, quoteIdent } from './pg-schema.js';
import { describeError, describeUrl, unavailable } from './pg-errors.js';
import { SQL, WALKS } from './pg-statements.js';

export interface PgIndexOptions {
  /** A libpq-style URL: postgres://user:pass@host:port/db?sslmode=verify-full&sslrootcert=/ca.pem */
  url: string;
  /** The schema berth's tables live in (several registries may share one database). */
  schema: string;
  poolSize: number;
  /** Connecting, then each statement: past these, the request fails (503) instead of waiting. */
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

export const PG_DEFAULTS = { schema: 'berth', poolSize: 10, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000 };

/** Rows fetched per round trip by the long walks (GC, usage, verification). */
const WALK_BATCH = 1_000;

type Row = Record<string, unknown>;
const limitOf = (n: number) => (Number.isFinite(n) ? n : null); // LIMIT NULL: no limit

export class PgIndex implements MetadataIndex {
  readonly shared: SharedIndex;
  private coordinated: PgCoordination | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    readonly where: string,
    opts: PgIndexOptions,
    private readonly events: EventRouter | undefined,
  ) {
    this.shared = {
      stamps: async (repos) => new Map((await this.rows<{ name: string; version: string }>('stamps', [repos])).map((r) => [r.name, r.version])),
      coordination: () => (this.coordinated ??= new PgCoordination(opts, where)),
      auth: pgAuth(async (text, values) => {
        try {
          return (await this.pool.query(text, values)).rows;
        } catch (err) {
          throw unavailable(err, this.where);
        }
      }),
    };
  }

  /**
   * Connects, and creates or upgrades the schema. Throws, naming the server and the cause, when the
   * database cannot be reached or refuses berth (credentials, TLS, a missing database).
   */
  static async open(opts: PgIndexOptions, events?: EventRouter): Promise<PgIndex> {
    const where = describeUrl(opts.url);
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      query_timeout: opts.queryTimeoutMs,
      keepAlive: true,
      // tables are found in berth's schema without naming it in every statement
      options: `-c search_path=${quoteIdent(opts.schema)}`,
      application_name: 'berth',
    });
    // an idle connection the server dropped: the pool discards it; the next query connects anew
    pool.on('error', () => undefined);
    // ...and one checked out (a walk's) fails its query instead of raising an uncaught 'error'
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
      const client = await pool.connect();
      try {
        await migrate(client, opts.schema);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new EngineError(`PostgreSQL at ${where}: ${describeError(err)}`, { cause: err });
    }
    return new PgIndex(pool, where, opts, events);
  }

  /** Connects once and asks the server its version (`berth config check`): no schema is touched. */
  static async probe(opts: PgIndexOptions): Promise<string> {
    const client = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: opts.connectTimeoutMs, query_timeout: opts.queryTimeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      return rows[0]?.v ?? '';
    } catch (err) {
      throw new EngineError(`PostgreSQL at ${describeUrl(opts.url)}: ${describeError(err)}`, { cause: err });
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.coordinated?.close();
    await this.pool.end();
  }

  private async q<R extends Row>(name: keyof typeof SQL, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>({ name, text: SQL[name], values });
    } catch (err) {
      throw unavailable(err, this.where);
    }
  }

  private async rows<R extends Row>(name: keyof typeof SQL, values: unknown[]): Promise<R[]> {
    return (await this.q<R>(name, values)).rows;
  }

  private async one<R extends Row>(name: keyof typeof SQL, values: unknown[]): Promise<R | undefined> {
    return (await this.q<R>(name, values)).rows[0];
  }

  /**
   * A walk of a whole table through a cursor in a read-only REPEATABLE READ transaction: one
   * consistent snapshot, WALK_BATCH rows in memory at a time, however large the table.
   */
  private async *walk<R extends Row>(name: keyof typeof WALKS): AsyncIterable<R> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err, this.where);
    }
    let failed = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`DECLARE walk NO SCROLL CURSOR FOR ${WALKS[name]}`);
      for (;;) {
        const { rows } = await client.query<R>(`FETCH ${WALK_BATCH} FROM walk`);
        yield* rows;
        if (rows.length < WALK_BATCH) break;
      }
    } catch (err) {
      failed = true;
      throw unavailable(err, this.where);
    } finally {
      // a walk left early (the caller stopped reading) ends its transaction too
      const ended = await client.query('ROLLBACK').then(() => true, () => false);
      client.release(failed || !ended);
    }
  }

  // --- repositories -------------------------------------------------------------------------
  async listRepositories(page: Page): Promise<string[]> {
    return (await this.rows<{ name: string }>('repos', [page.after ?? '', limitOf(page.limit)])).map((r) => r.name);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return (await this.q('repoExists', [repo])).rowCount === 1;
  }

  // --- blob links ---------------------------------------------------------------------------
  async blobLink(repo: string, digest: string): Promise<{ size: number } | undefined> {
    const row = await this.one<{ size: string }>('blobLink', [repo, digest]);
    return row && { size: Number(row.size) };
  }

  async linkBlob(repo: string, digest: string, size: number, endUpload?: string): Promise<void> {
    const at = Date.now();
    const values = [repo, digest, size, at, endUpload ?? null];
    const sinks = this.events?.('repository.created', repo) ?? [];
    if (sinks.length === 0) await this.q('linkBlob', values);
    // the statement that inserts the catalog row announces it, whichever replica links first
    else await this.q('linkBlobEvents', [...values, sinks, at, JSON.stringify(withCurrentActor({ type: 'repository.created', repo, at, data: {} }))]);
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    return ((await this.q('unlinkBlob', [repo, digest])).rowCount ?? 0) > 0;
  }

  async listBlobLinks(repo: string): Promise<{ digest: string; size: number; linkedAt: number }[]> {
    const rows = await this.rows<{ digest: string; size: string; linked_at: string }>('blobLinks', [repo]);
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size), linkedAt: Number(r.linked_at) }));
  }

  async *allBlobLinks(): AsyncIterable<{ repo: string; digest: string; size: number }> {
    for await (const r of this.walk<{ repo: string; digest: string; size: string }>('allBlobLinks')) yield { repo: r.repo, digest: r.digest, size: Number(r.size) };
  }

  async *blobHolders(): AsyncIterable<{ digest: string; repo: string }> {
    for await (const r of this.walk<{ digest: string; repo: string }>('blobHolders')) yield { digest: r.digest, repo: r.repo };
  }

  async reposWithBlob(digest: string, limit: number): Promise<string[]> {
    return (await this.rows<{ repo: string }>('reposWithBlob', [digest, limitOf(limit)])).map((r) => r.repo);
  }

  // --- manifests ----------------------------------------------------------------------------
  async manifest(repo: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = await this.one<{ record: string }>('manifest', [repo, digest]);
    return row && (JSON.parse(row.record) as ManifestRecord);
  }

  async manifestBytes(digest: string): Promise<Buffer | undefined> {
    return (await this.one<{ bytes: Buffer }>('manifestBytes', [digest]))?.bytes;
  }

  async resolveManifest(repo: string, ref: { tag: string } | { digest: string }): Promise<ResolvedManifest | undefined> {
    const row = 'tag' in ref
      ? await this.one<{ digest: string; record: string | null; bytes: Buffer | null }>('manifestByTag', [repo, ref.tag])
      : await this.one<{ digest: string; record: string | null; bytes: Buffer | null }>('manifestByDigest', [repo, ref.digest]);
    if (!row) return 'tag' in ref ? undefined : { digest: ref.digest };
    return {
      digest: row.digest,
      ...(row.record !== null ? { record: JSON.parse(row.record) as ManifestRecord } : {}),
      ...(row.bytes !== null ? { bytes: row.bytes } : {}),
    };
  }

  async putManifest(repo: string, record: ManifestRecord, bytes: Buffer, referrer: Descriptor | undefined, tag?: string | readonly string[]): Promise<void> {
    const tags = tagList(tag);
    const values = [
      repo,
      record.digest,
      bytes,
      JSON.stringify(record),
      record.subject ?? null,
      record.subject && referrer ? JSON.stringify(referrer) : null,
      tags,
      tags.map((t) => tagOrder(t)),
      Date.now(),
    ];
    if (!this.events) return void (await this.q('putManifest', values));
    // the caller holds the repository's lock: what is read here is what the write changes
    const before = await this.one<{ known: boolean; old: [string, string][] }>('beforePush', [repo, tags]);
    const moved = (before?.old ?? []).filter(([, d]) => d !== record.digest).map(([t, from]) => ({ tag: t, from }));
    const events = pushEvents(repo, record, tags, moved);
    // dated with the push that creates it, so no event numbered after it is older
    if (!before?.known) events.unshift({ type: 'repository.created', repo, at: events[0]?.at ?? Date.now(), data: {} });
    await this.q('putManifestEvents', [...values, ...(await this.eventColumns(events))]);
  }

  async deleteManifest(repo: string, digest: string): Promise<string[] | undefined> {
    let row: { found: number; tags: string[] } | undefined;
    if (!this.events) row = await this.one('deleteManifest', [repo, digest]);
    else {
      const tags = await this.tagsOf(repo, digest); // under the repository's lock, as above
      const events: ChangeEvent[] = [{ type: 'manifest.deleted', repo, at: Date.now(), data: { digest, tags } }];
      row = await this.one('deleteManifestEvents', [repo, digest, ...(await this.eventColumns(events))]);
    }
    return row && row.found > 0 ? row.tags : undefined;
  }

  async tagsOf(repo: string, digest: string): Promise<string[]> {
    return (await this.rows<{ tag: string }>('tagsOf', [repo, digest])).map((r) => r.tag);
  }

  async listReferrers(repo: string, subject: string): Promise<Descriptor[]> {
    return (await this.rows<{ descriptor: string }>('referrers', [repo, subject])).map((r) => JSON.parse(r.descriptor) as Descriptor);
  }

  async listManifests(repo: string): Promise<ManifestRecord[]> {
    return (await this.rows<{ record: string }>('manifests', [repo])).map((r) => JSON.parse(r.record) as ManifestRecord);
  }

  async taggedDigests(repo: string): Promise<Set<string>> {
    return new Set((await this.rows<{ digest: string }>('taggedDigests', [repo])).map((r) => r.digest));
  }

  async *orphanManifestBytes(batch = 50_000): AsyncIterable<string[]> {
    for (let after = ''; ; ) {
      const page = (await this.rows<{ digest: string }>('orphanBytes', [after, batch])).map((r) => r.digest);
      if (page.length > 0) yield page;
      if (page.length < batch) return;
      after = page[page.length - 1]!;
    }
  }

  async deleteManifestBytes(digests: string[]): Promise<void> {
    if (digests.length) await this.q('deleteBytes', [digests]);
  }

  /**
   * Last pulls are not acknowledged content: this one transaction commits without waiting for the
   * server's WAL flush (a lost one only makes a tag look older), like LevelDB's unsynced batch.
   */
  async recordPulls(entries: { repo: string; digest: string; at: number }[]): Promise<void> {
    if (!entries.length) return;
    const latest = new Map<string, { repo: string; digest: string; at: number }>();
    for (const e of entries) {
      const k = `${e.repo}\u0000${e.digest}`;
      if ((latest.get(k)?.at ?? -1) < e.at) latest.set(k, e); // ON CONFLICT may touch a row once per statement
    }
    const list = [...latest.values()];
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err, this.where);
    }
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL synchronous_commit TO off');
      await client.query({ name: 'recordPulls', text: SQL.recordPulls, values: [list.map((e) => e.repo), list.map((e) => e.digest), list.map((e) => e.at)] });
      await client.query('COMMIT');
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw unavailable(err, this.where);
    }
  }

  async pulledAt(repo: string, digest: string): Promise<number | undefined> {
    const row = await this.one<{ at: string }>('pulledAt', [repo, digest]);
    return row && Number(row.at);
  }

  async *eachManifestBytes(): AsyncIterable<{ digest: string; bytes: Buffer }> {
    for await (const r of this.walk<{ digest: string; bytes: Buffer }>('manifestBytes')) yield { digest: r.digest, bytes: r.bytes };
  }

  // --- tags ---------------------------------------------------------------------------------
  async tag(repo: string, tag: string): Promise<string | undefined> {
    return (await this.one<{ digest: string }>('tag', [repo, tag]))?.digest;
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    const after = page.after ?? '';
    return (await this.rows<{ tag: string }>('tags', [repo, tagOrder(after), after, limitOf(page.limit)])).map((r) => r.tag);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    let row: { n: number } | undefined;
    if (!this.events) row = await this.one('deleteTag', [repo, tag]);
    else {
      const digest = await this.tag(repo, tag); // under the repository's lock
      if (digest === undefined) return false;
      const events: ChangeEvent[] = [{ type: 'tag.deleted', repo, at: Date.now(), data: { tag, digest } }];
      row = await this.one('deleteTagEvents', [repo, tag, ...(await this.eventColumns(events))]);
    }
    return (row?.n ?? 0) > 0;
  }

  // --- uploads ------------------------------------------------------------------------------
  async robot(name: string): Promise<RobotRecord | undefined> {
    const row = await this.one<RobotRow>('robot', [name]);
    return row && robotOf(row);
  }

  async listRobots(): Promise<RobotRecord[]> {
    return (await this.rows<RobotRow>('robots', [])).map(robotOf);
  }

  async createRobot(record: RobotRecord): Promise<boolean> {
    return (await this.one<{ ok: number }>('createRobot', [record.name, JSON.stringify(record)])) !== undefined;
  }

  async revokeRobot(name: string, at: number): Promise<boolean> {
    return (await this.one<{ ok: number }>('revokeRobot', [name, at])) !== undefined;
  }

  async noteRobotUse(name: string, at: number): Promise<void> {
    await this.q('noteRobotUse', [name, at]);
  }

  async putBundle(record: BundleRecord): Promise<void> {
    await this.q('putBundle', [record.name, record.version, record.importedAt, JSON.stringify(record)]);
  }

  async listBundles(): Promise<BundleRecord[]> {
    const rows = await this.rows<{ imported_at: string; record: string }>('bundles', []);
    return rows.map((r) => ({ ...(JSON.parse(r.record) as BundleRecord), importedAt: Number(r.imported_at) }));
  }

  async deleteBundle(name: string, version: string): Promise<boolean> {
    return (await this.one<{ ok: number }>('deleteBundle', [name, version])) !== undefined;
  }

  async upload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.one<{ record: string }>('upload', [id]);
    return row && (JSON.parse(row.record) as UploadRecord);
  }

  async listUploads(): Promise<UploadRecord[]> {
    return (await this.rows<{ record: string }>('uploads', [])).map((r) => JSON.parse(r.record) as UploadRecord);
  }

  async putUpload(record: UploadRecord): Promise<void> {
    await this.q('putUpload', [record.id, JSON.stringify(record)]);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.q('deleteUpload', [id]);
  }

  // --- event queues -------------------------------------------------------------------------
  /**
   * The four columns (sink, seq, at, event) of each routed event's rows: one number per event from
   * `event_seq`, in the events' order (the caller's lock keeps one repository's in commit order).
   */
  private async eventColumns(events: ChangeEvent[]): Promise<[string[], string[], number[], string[]]> {
    const routed = events.map((e) => ({ e, sinks: this.events?.(e.type, e.repo) ?? [] })).filter((r) => r.sinks.length > 0);
    const cols: [string[], string[], number[], string[]] = [[], [], [], []];
    if (routed.length === 0) return cols;
    const seqs = (await this.rows<{ seq: string }>('eventSeqs', [routed.length])).map((r) => BigInt(r.seq)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    routed.forEach(({ e, sinks }, i) => {
      const event = JSON.stringify(withCurrentActor(e));
      for (const sink of sinks) {
        cols[0].push(sink);
        cols[1].push(String(seqs[i]));
        cols[2].push(e.at);
        cols[3].push(event);
      }
    });
    return cols;
  }

  async appendEvent(event: ChangeEvent): Promise<void> {
    const cols = await this.eventColumns([event]);
    if (cols[0].length) await this.q('appendEvents', cols);
  }

  async queuedEvents(sink: string, limit: number): Promise<QueuedEvent[]> {
    const rows = await this.rows<{ seq: string; event: string }>('queuedEvents', [sink, limitOf(limit)]);
    return rows.map((r) => ({ ...(JSON.parse(r.event) as ChangeEvent), seq: Number(r.seq) }));
  }

  async ackEvents(sink: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length) await this.q('ackEvents', [sink, seqs.map(String)]);
  }

  async eventBacklog(): Promise<Map<string, { count: number; oldestAt: number }>> {
    const rows = await this.rows<{ sink: string; n: number; oldest: string }>('eventBacklog', []);
    return new Map(rows.map((r) => [r.sink, { count: r.n, oldestAt: Number(r.oldest) }]));
  }

  async dropEvents(sink: string, count: number): Promise<void> {
    await this.q('dropEvents', [sink, count]);
  }
}

type RobotRow = {
  record: string;
  revoked_at: string | null;
  last_used_at: string | null;
};

function robotOf(row: RobotRow): RobotRecord {
  const r = JSON.parse(row.record) as RobotRecord;
  if (row.revoked_at !== null) r.revokedAt = Number(row.revoked_at);
  if (row.last_used_at !== null) r.lastUsedAt = Number(row.last_used_at);
  return r;
}
