/**
 * The login state every replica must see alike, in PostgreSQL (tables: pg-schema.ts): web sessions
 * (a login through one replica is a login on all, a logout on one a logout everywhere), failed-login
 * counts (the limits hold for the registry, not per replica), and secrets made once for all of them
 * (the token signing key when none is configured: a token one replica issues, every one accepts).
 */
import type { Session } from '../auth/sessions.js';
import type { SharedAuth } from './metadata.js';

/** Runs one statement on the index's pool (its errors already mapped to 503 when the database is away). */
export type Query = <R extends Record<string, unknown>>(text: string, values: unknown[]) => Promise<R[]>;

export function pgAuth(q: Query): SharedAuth {
  return {
    sessions: {
      async put(s: Session) {
        // expired sessions go as new ones come: the table holds live ones and a few stale
        await q('WITH gone AS (DELETE FROM web_sessions WHERE expires_at <= $4) INSERT INTO web_sessions (id, session, expires_at) VALUES ($1, $2, $3)', [
          s.id,
          JSON.stringify(s),
          s.expiresAt,
          Date.now(),
        ]);
      },
      async get(id: string) {
        const rows = await q<{ session: string }>('SELECT session FROM web_sessions WHERE id = $1', [id]);
        return rows[0] ? (JSON.parse(rows[0].session) as Session) : undefined;
      },
      async delete(id: string) {
        await q('DELETE FROM web_sessions WHERE id = $1', [id]);
      },
    },
    failures: {
      async count(keys: string[], since: number) {
        const rows = await q<{ key: string; n: number }>('SELECT key, count(*)::int AS n FROM login_failures WHERE key = ANY($1::text[]) AND at >= $2 GROUP BY key', [keys, since]);
        return keys.map((k) => rows.find((r) => r.key === k)?.n ?? 0);
      },
      async add(keys: string[], at: number, since: number) {
        await q('WITH gone AS (DELETE FROM login_failures WHERE key = ANY($1::text[]) AND at < $3) INSERT INTO login_failures (key, at) SELECT unnest($1::text[]), $2', [keys, at, since]);
      },
    },
    async secret(name: string, make: () => Promise<string>) {
      const found = await q<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name]);
      if (found[0]) return found[0].value;
      const made = await make();
      // two processes making it at once: the first insert wins, and both read that one
      await q('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, made]);
      return (await q<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name]))[0]!.value;
    },
  };
}
