/**
 * The statements PgIndex runs, by name (tables: pg-schema.ts). pg prepares each once per connection:
 * a named statement is parsed and planned once, then only bound and executed.
 */
/**
 * The events a change makes, inserted by the statement that makes it (one statement: atomic).
 * Parameters from `first`: sinks, seqs, times, events, one element per (sink, event); `guard`: a
 * condition on the statement's other CTEs (the change happened).
 */
const withEvents = (sql: string, first: number, guard = 'true') =>
  addCtes(sql, `q AS (INSERT INTO event_queue (sink, seq, at, event)
        SELECT * FROM unnest($${first}::text[], $${first + 1}::bigint[], $${first + 2}::bigint[], $${first + 3}::text[]) WHERE ${guard})`);

/** `ctes` after a statement's own (they may name those); its main statement is the line indented by four. */
function addCtes(sql: string, ctes: string): string {
  const main = sql.search(/\n {4}(?:SELECT|INSERT)\b/);
  return `${sql.slice(0, main)},\n      ${ctes}${sql.slice(main)}`;
}

const linkBlob = `WITH r AS (INSERT INTO repositories (name, created_at) VALUES ($1, $4) ON CONFLICT DO NOTHING RETURNING name),
      u AS (DELETE FROM uploads WHERE id = $5)
    INSERT INTO blob_links (repo, digest, size, linked_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (repo, digest) DO UPDATE SET size = excluded.size, linked_at = excluded.linked_at`;
const putManifest = `WITH r AS (INSERT INTO repositories (name, created_at, version) VALUES ($1, $9, nextval('changes'))
            ON CONFLICT (name) DO UPDATE SET version = excluded.version),
      b AS (INSERT INTO manifest_bytes (digest, bytes) VALUES ($2, $3) ON CONFLICT DO NOTHING),
      f AS (INSERT INTO referrers (repo, subject, digest, descriptor) SELECT $1, $5, $2, $6 WHERE $6::text IS NOT NULL
            ON CONFLICT (repo, subject, digest) DO UPDATE SET descriptor = excluded.descriptor),
      t AS (INSERT INTO tags (repo, tag, sort_key, digest) SELECT $1, u.tag, u.sort_key, $2 FROM unnest($7::text[], $8::text[]) AS u(tag, sort_key)
            ON CONFLICT (repo, tag) DO UPDATE SET sort_key = excluded.sort_key, digest = excluded.digest)
    INSERT INTO manifests (repo, digest, subject, record) VALUES ($1, $2, $5, $4)
    ON CONFLICT (repo, digest) DO UPDATE SET subject = excluded.subject, record = excluded.record`;
const deleteManifest = `WITH m AS (DELETE FROM manifests WHERE repo = $1 AND digest = $2 RETURNING subject),
      f AS (DELETE FROM referrers WHERE repo = $1 AND digest = $2 AND subject IN (SELECT subject FROM m)),
      v AS (UPDATE repositories SET version = nextval('changes') WHERE name = $1 AND EXISTS (SELECT 1 FROM m)),
      t AS (DELETE FROM tags WHERE repo = $1 AND digest = $2 AND EXISTS (SELECT 1 FROM m) RETURNING tag)
    SELECT (SELECT count(*) FROM m)::int AS found, ARRAY(SELECT tag FROM t ORDER BY tag) AS tags`;
const deleteTag = `WITH t AS (DELETE FROM tags WHERE repo = $1 AND tag = $2 RETURNING 1),
      v AS (UPDATE repositories SET version = nextval('changes') WHERE name = $1 AND EXISTS (SELECT 1 FROM t))
    SELECT count(*)::int AS n FROM t`;

export const SQL = {
  repoExists: 'SELECT 1 FROM repositories WHERE name = $1',
  repos: 'SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2',
  blobLink: 'SELECT size FROM blob_links WHERE repo = $1 AND digest = $2',
  linkBlob,
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
  putManifest,
  deleteManifest,
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
  deleteTag,
  stamps: 'SELECT name, version FROM repositories WHERE name = ANY($1::text[])',
  upload: 'SELECT record FROM uploads WHERE id = $1',
  uploads: 'SELECT record FROM uploads ORDER BY id',
  putUpload: 'INSERT INTO uploads (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record',
  deleteUpload: 'DELETE FROM uploads WHERE id = $1',
  putBundle: 'INSERT INTO bundles (name, version, imported_at, record) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version) DO UPDATE SET record = EXCLUDED.record',
  bundles: 'SELECT imported_at, record FROM bundles ORDER BY name, imported_at, version',
  deleteBundle: 'DELETE FROM bundles WHERE name = $1 AND version = $2 RETURNING 1 AS ok',
  robot: 'SELECT record, revoked_at, last_used_at FROM robots WHERE name = $1',
  robots: 'SELECT record, revoked_at, last_used_at FROM robots ORDER BY name',
  createRobot: 'INSERT INTO robots (name, record) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING 1 AS ok',
  revokeRobot: 'UPDATE robots SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1 RETURNING 1 AS ok',
  noteRobotUse: 'UPDATE robots SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $2) WHERE name = $1',
  // --- with events on: the same changes, and their events in the same statement
  /** What a push's events need to know, read under the repository's lock before the write. */
  beforePush: `SELECT EXISTS (SELECT 1 FROM repositories WHERE name = $1) AS known,
      COALESCE((SELECT json_agg(json_build_array(tag, digest)) FROM tags WHERE repo = $1 AND tag = ANY($2::text[])), '[]') AS old`,
  eventSeqs: 'SELECT nextval(\'event_seq\') AS seq FROM generate_series(1, $1::int)',
  /** Only the statement that creates the repository announces it: $6 its sinks, $7 the time, $8 the event. */
  linkBlobEvents: addCtes(linkBlob, `n AS (SELECT nextval('event_seq') AS seq FROM r),
      q AS (INSERT INTO event_queue (sink, seq, at, event) SELECT s, n.seq, $7, $8 FROM n, unnest($6::text[]) AS s)`),
  putManifestEvents: withEvents(putManifest, 10),
  deleteManifestEvents: withEvents(deleteManifest, 3, 'EXISTS (SELECT 1 FROM m)'),
  deleteTagEvents: withEvents(deleteTag, 3, 'EXISTS (SELECT 1 FROM t)'),
  appendEvents: 'INSERT INTO event_queue (sink, seq, at, event) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])',
  queuedEvents: 'SELECT seq, event FROM event_queue WHERE sink = $1 ORDER BY seq LIMIT $2',
  ackEvents: 'DELETE FROM event_queue WHERE sink = $1 AND seq = ANY($2::bigint[])',
  eventBacklog: 'SELECT sink, count(*)::int AS n, min(at) AS oldest FROM event_queue GROUP BY sink ORDER BY sink',
  dropEvents: 'DELETE FROM event_queue WHERE sink = $1 AND seq IN (SELECT seq FROM event_queue WHERE sink = $1 ORDER BY seq LIMIT $2)',
} as const;

/** The long walks: one snapshot each, read through a cursor. */
export const WALKS = {
  allBlobLinks: 'SELECT repo, digest, size FROM blob_links ORDER BY repo, digest',
  blobHolders: 'SELECT digest, repo FROM blob_links ORDER BY digest, repo',
  manifestBytes: 'SELECT digest, bytes FROM manifest_bytes ORDER BY digest',
} as const;
