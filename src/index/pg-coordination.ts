/**
 * Coordination (registry/coordination.ts) kept by PostgreSQL, for replicas that share one index:
 * locks are advisory locks (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS)
 * held by a session of a small pool of their own, so a lock waiter never takes a connection the
 * queries need. A lock lives as long as its session: a replica that dies (or whose host vanishes:
 * TCP keepalives, set short below) releases everything it held, and no lease is ever stuck.
 *
 * Each lock is taken in this process first (locks.ts), so N local waiters for one key hold one
 * database session, not N. Locks taken while one is held (a repository's lock, then the sweep
 * gate) ride on the session that holds the first (AsyncLocalStorage), so one operation never waits
 * for a second session while holding the first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { RegistryError } from '../oci/errors.js';
import type { Coordination, KeyedLock, LeaseResult, Leases, SweepGate } from '../registry/coordination.js';
import { KeyedMutex, SweepLock } from '../registry/locks.js';
import { unavailable } from './pg-errors.js';
import type { PgIndexOptions } from './pg-index.js';
import { quoteIdent } from './pg-schema.js';

/** Past this a lock waiter gives up (55P03, answered 503): a holder is stuck, or the database is. */
const LOCK_WAIT = '30s';

/** Which lock spaces there are: the first key of the two-integer advisory lock is one of these, per schema. */
type Space = 'repo' | 'upload' | 'sweep' | 'lease';

/** A signed 32-bit integer from a string (advisory locks take int4 pairs; a collision only makes two keys wait for each other). */
function int32(s: string): number {
  return createHash('sha256').update(s).digest().readInt32BE(0);
}

export class PgCoordination implements Coordination {
  readonly shared = true;
  readonly repoLocks: KeyedLock;
  readonly uploadLocks: KeyedLock;
  readonly sweep: SweepGate;
  readonly leases: Leases;
  private readonly pool: pg.Pool;
  private readonly session = new AsyncLocalStorage<pg.PoolClient>();
  private readonly spaces: Record<Space, number>;

  constructor(
    opts: PgIndexOptions,
    private readonly where: string,
  ) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      keepAlive: true,
      // the server ends the session of a replica it cannot reach in about 11 s, and its locks with it
      options: `-c search_path=${quoteIdent(opts.schema)} -c lock_timeout=${LOCK_WAIT} -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3`,
      application_name: 'berth-locks',
    });
    // a session the server ends (a restart, a terminated backend) fails its query; the event itself
    // must not take the process down, whether the client is idle in the pool or checked out
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    // several registries may share a database: their lock spaces differ by schema
    this.spaces = { repo: int32(`${opts.schema}:repo`), upload: int32(`${opts.schema}:upload`), sweep: int32(`${opts.schema}:sweep`), lease: int32(`${opts.schema}:lease`) };
    this.repoLocks = this.keyed('repo');
    this.uploadLocks = this.keyed('upload');
    const local = new SweepLock();
    this.sweep = {
      shared: (fn) => local.shared(() => this.held('pg_advisory_lock_shared', 'pg_advisory_unlock_shared', 'sweep', '', fn)),
      alone: (fn) => local.alone(() => this.held('pg_advisory_lock', 'pg_advisory_unlock', 'sweep', '', fn)),
    };
    this.leases = { run: (job, min, fn) => this.lease(job, min, fn) };
  }

  private keyed(space: Space): KeyedLock {
    const local = new KeyedMutex();
    return { run: (key, fn) => local.run(key, () => this.held('pg_advisory_lock', 'pg_advisory_unlock', space, key, fn)) };
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): unknown {
    if ((err as { code?: string }).code === '55P03') {
      return new RegistryError('UNAVAILABLE', `timed out after ${LOCK_WAIT} waiting for a lock another berth holds (PostgreSQL at ${this.where})`);
    }
    return unavailable(err, this.where);
  }

  /** Runs fn holding an advisory lock, on this operation's session or a new one. */
  private async held<T>(lock: string, unlock: string, space: Space, key: string, fn: () => Promise<T>): Promise<T> {
    const outer = this.session.getStore();
    const client = outer ?? (await this.connect());
    const args = [this.spaces[space], key === '' ? 0 : int32(key)];
    let healthy = true;
    try {
      await client.query(`SELECT ${lock}($1, $2)`, args).catch((err: unknown) => {
        healthy = false;
        throw this.failed(err);
      });
      try {
        return outer ? await fn() : await this.session.run(client, fn);
      } finally {
        // a session whose unlock failed is closed: its locks end with it
        await client.query(`SELECT ${unlock}($1, $2)`, args).catch(() => (healthy = false));
      }
    } finally {
      if (!outer) client.release(!healthy);
    }
  }

  private async lease<T>(job: string, minIntervalMs: number, fn: () => Promise<T>): Promise<LeaseResult<T>> {
    const client = await this.connect();
    const args = [this.spaces.lease, int32(job)];
    let healthy = false;
    try {
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', args);
      if (!got.rows[0]?.ok) {
        healthy = true;
        return { ran: false };
      }
      try {
        const last = await client.query<{ at: string }>('SELECT finished_at AS at FROM jobs WHERE name = $1', [job]);
        const at = last.rows[0] ? Number(last.rows[0].at) : undefined;
        if (at !== undefined && Date.now() - at < minIntervalMs) {
          healthy = true;
          return { ran: false };
        }
        // the job's own locks take sessions of their own: its parallel steps must not queue on this one
        const value = await fn();
        await client.query('INSERT INTO jobs (name, finished_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET finished_at = excluded.finished_at', [job, Date.now()]);
        healthy = true;
        return { ran: true, value };
      } finally {
        healthy = (await client.query('SELECT pg_advisory_unlock($1, $2)', args).then(() => true, () => false)) && healthy;
      }
    } catch (err) {
      throw this.failed(err);
    } finally {
      client.release(!healthy);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
