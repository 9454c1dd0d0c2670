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
import type { ManifestRecord, MetadataIndex, Page, ResolvedManifest, SharedIndex, UploadRecord } from './metadata.js';
import { PgCoordination } from './pg-coordination.js';
import { pgAuth } from './pg-auth.js';
import { migrate, quoteIdent } from './pg-schema.js';
import { unavailable } from './pg-errors.js';

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

/**
 * The statements, by name: pg prepares each once per connection (a named statement is parsed and
 * planned once, then only bound and executed).
 */
const SQL = {
  repoExists: 'SELECT 1 FROM repositories WHERE name = $1',
  repos: 'SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2',
  blobLink: 'SELECT size FROM blob_links WHERE repo = $1 AND digest = $2',
  linkBlob: `WITH r AS (INSERT INTO repositories (name, created_at) VALUES ($1, $4) ON CONFLICT DO NOTHING),
      u AS (DELETE FROM uploads WHERE id = $5)
    INSERT INTO blob_links (repo, digest, size, linked_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (repo, digest) DO UPDATE SET size = excluded.size, linked_at = excluded.linked_at`,
  unlinkBlob: 'DELETE FROM blob_links WHERE repo = $1 AND digest = $2',
  blobLinks: 'SELECT digest, size, linked_at FROM blob_links WHERE repo = $1 ORDER BY digest',
  reposWithBlob: 'SELECT repo FROM blob_links WHERE digest = $1 ORDER BY repo LIMIT $2',
  manifest: 'SELECT record FROM manifests WHERE repo = $1 AND digest = $2',
  manifestBytes: 'SELECT bytes FROM manifest_bytes WHERE digest = $1',
  manifestByDigest: `SELECT m.digest, m.record, b.bytes FROM manifests m LEFT JOIN manifest_bytes b ON b.digest = m.digest
    WHERE m.repo = $1 AND m.digest = $2`,
  manifestByTag: `SELECT t.digest, m.record, b.bytes FROM tags t
      LEFT JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
      LEFT JOIN manifest_bytes b ON b.digest = t.digest
    WHERE t.repo = $1 AND t.tag = $2`,
  putManifest: `WITH r AS (INSERT INTO repositories (name, created_at, version) VALUES ($1, $9, nextval('changes'))
            ON CONFLICT (name) DO UPDATE SET version = excluded.version),
      b AS (INSERT INTO manifest_bytes (digest, bytes) VALUES ($2, $3) ON CONFLICT DO NOTHING),
      f AS (INSERT INTO referrers (repo, subject, digest, descriptor) SELECT $1, $5, $2, $6 WHERE $6::text IS NOT NULL
            ON CONFLICT (repo, subject, digest) DO UPDATE SET descriptor = excluded.descriptor),
      t AS (INSERT INTO tags (repo, tag, sort_key, digest) SELECT $1, $7, $8, $2 WHERE $7::text IS NOT NULL
            ON CONFLICT (repo, tag) DO UPDATE SET sort_key = excluded.sort_key, digest = excluded.digest)
    INSERT INTO manifests (repo, digest, subject, record) VALUES ($1, $2, $5, $4)
    ON CONFLICT (repo, digest) DO UPDATE SET subject = excluded.subject, record = excluded.record`,
  deleteManifest: `WITH m AS (DELETE FROM manifests WHERE repo = $1 AND digest = $2 RETURNING subject),
      f AS (DELETE FROM referrers WHERE repo = $1 AND digest = $2 AND subject IN (SELECT subject FROM m)),
      v AS (UPDATE repositories SET version = nextval('changes') WHERE name = $1 AND EXISTS (SELECT 1 FROM m)),
      t AS (DELETE FROM tags WHERE repo = $1 AND digest = $2 AND EXISTS (SELECT 1 FROM m) RETURNING tag)
    SELECT (SELECT count(*) FROM m)::int AS found, ARRAY(SELECT tag FROM t ORDER BY tag) AS tags`,
  tagsOf: 'SELECT tag FROM tags WHERE repo = $1 AND digest = $2 ORDER BY tag',
  referrers: 'SELECT descriptor FROM referrers WHERE repo = $1 AND subject = $2 ORDER BY digest',
  manifests: 'SELECT record FROM manifests WHERE repo = $1 ORDER BY digest',
  taggedDigests: 'SELECT DISTINCT digest FROM tags WHERE repo = $1',
  orphanBytes: `SELECT b.digest FROM manifest_bytes b WHERE b.digest > $1
      AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest) ORDER BY b.digest LIMIT $2`,
  // re-checked under the statement: bytes a manifest record uses again are kept
  deleteBytes: `DELETE FROM manifest_bytes b WHERE b.digest = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)`,
  recordPulls: `INSERT INTO pulls (repo, digest, at) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT (repo, digest) DO UPDATE SET at = GREATEST(pulls.at, excluded.at)`,
  pulledAt: 'SELECT at FROM pulls WHERE repo = $1 AND digest = $2',
  tag: 'SELECT digest FROM tags WHERE repo = $1 AND tag = $2',
  tags: 'SELECT tag FROM tags WHERE repo = $1 AND (sort_key, tag) > ($2, $3) ORDER BY sort_key, tag LIMIT $4',
  deleteTag: `WITH t AS (DELETE FROM tags WHERE repo = $1 AND tag = $2 RETURNING 1),
      v AS (UPDATE repositories SET version = nextval('changes') WHERE name = $1 AND EXISTS (SELECT 1 FROM t))
    SELECT count(*)::int AS n FROM t`,
  stamps: 'SELECT name, version FROM repositories WHERE name = ANY($1::text[])',
  upload: 'SELECT record FROM uploads WHERE id = $1',
  uploads: 'SELECT record FROM uploads ORDER BY id',
  putUpload: 'INSERT INTO uploads (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record',
  deleteUpload: 'DELETE FROM uploads WHERE id = $1',
} as const;

/** The long walks: one snapshot each, read through a cursor. */
const WALKS = {
  allBlobLinks: 'SELECT repo, digest, size FROM blob_links ORDER BY repo, digest',
  blobHolders: 'SELECT digest, repo FROM blob_links ORDER BY digest, repo',
  manifestBytes: 'SELECT digest, bytes FROM manifest_bytes ORDER BY digest',
} as const;

type Row = Record<string, unknown>;
const limitOf = (n: number) => (Number.isFinite(n) ? n : null); // LIMIT NULL: no limit

export class PgIndex implements MetadataIndex {
  readonly shared: SharedIndex;
  private coordinated: PgCoordination | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    readonly where: string,
    opts: PgIndexOptions,
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
  static async open(opts: PgIndexOptions): Promise<PgIndex> {
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
    return new PgIndex(pool, where, opts);
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
    await this.q('linkBlob', [repo, digest, size, Date.now(), endUpload ?? null]);
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

  async putManifest(repo: string, record: ManifestRecord, bytes: Buffer, referrer: Descriptor | undefined, tag?: string): Promise<void> {
    await this.q('putManifest', [
      repo,
      record.digest,
      bytes,
      JSON.stringify(record),
      record.subject ?? null,
      record.subject && referrer ? JSON.stringify(referrer) : null,
      tag ?? null,
      tag === undefined ? null : tagOrder(tag),
      Date.now(),
    ]);
  }

  async deleteManifest(repo: string, digest: string): Promise<string[] | undefined> {
    const row = await this.one<{ found: number; tags: string[] }>('deleteManifest', [repo, digest]);
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
    return ((await this.one<{ n: number }>('deleteTag', [repo, tag]))?.n ?? 0) > 0;
  }

  // --- uploads ------------------------------------------------------------------------------
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
}

/** The server a URL names, without its password: for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured URL (not a valid URL)';
  }
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.message} (${e.code})` : String(e.message ?? err);
}
