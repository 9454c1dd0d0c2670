/**
 * The one owner of the PostgreSQL table layout (the counterpart of keys.ts for LevelDB), applied by
 * versioned migrations at start. Every name, tag and digest column is COLLATE "C": byte order, the
 * order LevelDB keeps, so `_catalog` and a repository's links page in the same order on either
 * engine, and each page is a keyset scan of a primary key or index (the same cost at any size).
 *
 *   repositories (name)                        the catalog; `version` moves (from the sequence
 *                                                 `changes`) with every change to its manifests or
 *                                                 tags: replicas check it before serving what they cache
 *   blob_links   (repo, digest)                blobs a repository may read; by (digest, repo) the reverse
 *   manifest_bytes (digest)                    every manifest's bytes, by content digest
 *   manifests    (repo, digest)                manifests of a repository; by digest to find unused bytes
 *   tags         (repo, tag)                   -> digest; by (repo, sort_key, tag) the spec's order
 *                                                 (sort_key: the lowercased tag, see keys.ts tagSortKey)
 *   referrers    (repo, subject, digest)       -> the descriptor the referrers API lists
 *   pulls        (repo, digest)                last pull, written in batches
 *   uploads      (id)                          blob-upload sessions
 *   jobs         (name)                        when each maintenance job last finished (leases)
 *   web_sessions (id), login_failures (key, at), secrets (name)
 *                                              login state every replica shares (pg-auth.ts)
 *   robots       (name)                        robot accounts, their secrets hashed
 *   bundles      (name, version)               imported bundles: first import time, the record
 *   event_queue  (sink, seq)                   events waiting for a sink; seq from the sequence
 *                                                 `event_seq`, one number per event whatever its sinks
 *
 * A migration is appended, never edited: a database records the versions it has applied.
 */
import type { PoolClient } from 'pg';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE repositories (name text COLLATE "C" PRIMARY KEY, created_at bigint NOT NULL);
   CREATE TABLE blob_links (
     repo text COLLATE "C" NOT NULL, digest text COLLATE "C" NOT NULL,
     size bigint NOT NULL, linked_at bigint NOT NULL, PRIMARY KEY (repo, digest));
   CREATE INDEX blob_links_by_digest ON blob_links (digest, repo);
   CREATE TABLE manifest_bytes (digest text COLLATE "C" PRIMARY KEY, bytes bytea NOT NULL);
   CREATE TABLE manifests (
     repo text COLLATE "C" NOT NULL, digest text COLLATE "C" NOT NULL,
     subject text COLLATE "C", record text NOT NULL, PRIMARY KEY (repo, digest));
   CREATE INDEX manifests_by_digest ON manifests (digest);
   CREATE TABLE tags (
     repo text COLLATE "C" NOT NULL, tag text COLLATE "C" NOT NULL, sort_key text COLLATE "C" NOT NULL,
     digest text COLLATE "C" NOT NULL, PRIMARY KEY (repo, tag));
   CREATE UNIQUE INDEX tags_in_order ON tags (repo, sort_key, tag);
   CREATE INDEX tags_by_digest ON tags (repo, digest);
   CREATE TABLE referrers (
     repo text COLLATE "C" NOT NULL, subject text COLLATE "C" NOT NULL, digest text COLLATE "C" NOT NULL,
     descriptor text NOT NULL, PRIMARY KEY (repo, subject, digest));
   CREATE TABLE pulls (repo text COLLATE "C" NOT NULL, digest text COLLATE "C" NOT NULL, at bigint NOT NULL, PRIMARY KEY (repo, digest));
   CREATE TABLE uploads (id text COLLATE "C" PRIMARY KEY, record text NOT NULL);`,
  `CREATE SEQUENCE changes;
   ALTER TABLE repositories ADD COLUMN version bigint NOT NULL DEFAULT 0;
   CREATE TABLE jobs (name text COLLATE "C" PRIMARY KEY, finished_at bigint NOT NULL);
   CREATE TABLE web_sessions (id text COLLATE "C" PRIMARY KEY, session text NOT NULL, expires_at bigint NOT NULL);
   CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
   CREATE TABLE login_failures (key text COLLATE "C" NOT NULL, at bigint NOT NULL);
   CREATE INDEX login_failures_by_key ON login_failures (key, at);
   CREATE TABLE secrets (name text COLLATE "C" PRIMARY KEY, value text NOT NULL);`,
  // robot accounts; a robot's last use apart from its record, so noting one never writes over a revocation
  `CREATE TABLE robots (name text COLLATE "C" PRIMARY KEY, record text NOT NULL, revoked_at bigint, last_used_at bigint);`,
  // events waiting for each sink, written by the statement that makes the change they describe
  `CREATE SEQUENCE event_seq;
   CREATE TABLE event_queue (sink text COLLATE "C" NOT NULL, seq bigint NOT NULL, at bigint NOT NULL, event text NOT NULL, PRIMARY KEY (sink, seq));`,
  // imported bundles; imported_at apart from the record, so importing again keeps the first time
  `CREATE TABLE bundles (name text COLLATE "C" NOT NULL, version text COLLATE "C" NOT NULL, imported_at bigint NOT NULL, record text NOT NULL, PRIMARY KEY (name, version));`,
];

/** The schema version this build writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** An arbitrary constant: the advisory lock two berths starting at once take before migrating. */
const MIGRATION_LOCK = 0x62657274; // "bert"

/**
 * Creates `schema` when missing and brings it to SCHEMA_VERSION, in one transaction under an
 * advisory lock: a second berth starting against the same empty database waits, then finds the
 * work done. A database newer than this build is refused rather than written with an older layout.
 */
export async function migrate(client: PoolClient, schema: string): Promise<{ from: number; to: number }> {
  const s = quoteIdent(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.berth_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.berth_migrations`);
    const from = rows[0]?.v ?? 0;
    if (from > SCHEMA_VERSION) throw new Error(`the database schema "${schema}" is at version ${from}, newer than this berth's ${SCHEMA_VERSION}: upgrade berth`);
    await client.query(`SET LOCAL search_path TO ${s}`);
    for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v - 1]!);
      await client.query(`INSERT INTO berth_migrations (version) VALUES ($1)`, [v]);
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A quoted SQL identifier (a schema name comes from config). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
