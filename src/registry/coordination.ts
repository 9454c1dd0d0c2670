/**
 * What the processes that serve one registry agree through. On one node (LevelDB) berth is the
 * index's only writer and this is in-process (locks.ts); over PostgreSQL any number of replicas may
 * serve the same store, and the same interfaces are kept by the database (index/pg-coordination.ts).
 * Every implementation passes test/shared/coordination.suite.ts.
 */
import { KeyedMutex, SweepLock } from './locks.js';

/** One holder at a time per key: a repository's manifest changes, one upload session's chunks. */
export interface KeyedLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Many holders share it, or one holds it alone: linking bytes (a blob into a repository, a
 * manifest's bytes) shares it; garbage collection's delete of unreferenced bytes takes it alone.
 */
export interface SweepGate {
  shared<T>(fn: () => Promise<T>): Promise<T>;
  alone<T>(fn: () => Promise<T>): Promise<T>;
}

export type LeaseResult<T> = { ran: true; value: T } | { ran: false };

/**
 * Maintenance that one process at a time does for the whole registry (garbage collection, upload
 * expiry, scrub, mirror sync). A job runs when no other process is running it and its last run
 * finished at least `minIntervalMs` ago; a holder that dies releases it with its connection.
 */
export interface Leases {
  run<T>(job: string, minIntervalMs: number, fn: () => Promise<T>): Promise<LeaseResult<T>>;
}

export interface Coordination {
  repoLocks: KeyedLock;
  uploadLocks: KeyedLock;
  sweep: SweepGate;
  leases: Leases;
  /** Whether other processes may change the index: what this one caches must be checked before it is served. */
  readonly shared: boolean;
  close(): Promise<void>;
}

/** In-process leases: the one process runs every job it is asked to, one at a time per job. */
class LocalLeases implements Leases {
  private readonly running = new Set<string>();
  private readonly finished = new Map<string, number>();

  async run<T>(job: string, minIntervalMs: number, fn: () => Promise<T>): Promise<LeaseResult<T>> {
    const last = this.finished.get(job);
    if (this.running.has(job) || (last !== undefined && Date.now() - last < minIntervalMs)) return { ran: false };
    this.running.add(job);
    try {
      const value = await fn();
      this.finished.set(job, Date.now());
      return { ran: true, value };
    } finally {
      this.running.delete(job);
    }
  }
}

export function localCoordination(): Coordination {
  return {
    repoLocks: new KeyedMutex(),
    uploadLocks: new KeyedMutex(),
    sweep: new SweepLock(),
    leases: new LocalLeases(),
    shared: false,
    close: async () => undefined,
  };
}
