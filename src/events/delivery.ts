/**
 * Delivers each sink's queue (written by the index with the changes, see EventQueues) at least once,
 * in order per repository. One process at a time delivers a sink's queue (a lease: with replicas,
 * one delivery per event, and another replica takes over when the holder dies); it holds the lease
 * for HOLD_MS at a time. A batch's repositories go out side by side, each repository's events one
 * after another; an event the sink did not take stops its repository there, and the batch is tried
 * again after a backoff (1 s doubling to 30 s) that a down sink costs nothing but the wait.
 * A queue past `maxQueued` loses its oldest events, counted and logged.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { EventQueues, QueuedEvent } from '../index/metadata.js';
import type { Leases } from '../registry/coordination.js';
import { cloudEvent, type CloudEvent } from './cloudevent.js';

/** What delivery needs of a sink: its name and a POST (http-sink.ts). */
export interface Sink {
  readonly name: string;
  post(event: CloudEvent): Promise<void>;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  queues: EventQueues;
  leases: Leases;
  sinks: Sink[];
  maxQueued: number;
  source: string;
  /** This store's id: the prefix of every event id. */
  store: string;
  log: FastifyBaseLogger;
  /** Other processes write the queues too (replicas): then a queue no sink here names may be another's. */
  shared: boolean;
  /** An empty queue is looked at again after this (default 500 ms): other replicas write events too. */
  pollMs?: number;
  retry?: { minMs: number; maxMs: number };
}

export interface SinkCounters {
  delivered: number;
  failed: number;
  dropped: number;
}

const BATCH = 64;
/** Repositories of a batch delivered side by side. */
const PARALLEL = 4;
const HOLD_MS = 30_000;
/** How often the holder checks its queue's length against maxQueued. */
const TRIM_EVERY_MS = 5_000;
const BACKLOG_CACHE_MS = 2_000;

export class EventDelivery {
  readonly counters = new Map<string, SinkCounters>();
  private closed = false;
  private readonly sleepers = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private backlogRead?: { at: number; value: Promise<Map<string, { count: number; oldestAt: number }>> };
  private readonly pollMs: number;
  private readonly retry: { minMs: number; maxMs: number };

  constructor(private readonly o: DeliveryOptions) {
    for (const s of o.sinks) this.counters.set(s.name, { delivered: 0, failed: 0, dropped: 0 });
    this.pollMs = o.pollMs ?? 500;
    this.retry = o.retry ?? { minMs: 1_000, maxMs: 30_000 };
  }

  start(): void {
    this.loops = this.o.sinks.map((s) => this.run(s));
    if (!this.o.shared) void this.forgetRemovedSinks();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.sleepers) wake();
    await Promise.all(this.loops);
    await Promise.all(this.o.sinks.map((s) => s.close()));
  }

  /** Each sink's waiting events (every process sees the same queues), read at most every 2 s. */
  backlog(): Promise<Map<string, { count: number; oldestAt: number }>> {
    if (!this.backlogRead || Date.now() - this.backlogRead.at > BACKLOG_CACHE_MS) {
      const value = this.o.queues.eventBacklog();
      value.catch(() => (this.backlogRead = undefined));
      this.backlogRead = { at: Date.now(), value };
    }
    return this.backlogRead.value;
  }

  private async run(sink: Sink): Promise<void> {
    while (!this.closed) {
      try {
        const r = await this.o.leases.run(`events:${sink.name}`, 0, () => this.drain(sink));
        if (!r.ran) await this.sleep(this.retry.minMs); // another process delivers this queue
      } catch (err) {
        // the index is unreachable: wait, then try again (nothing is lost: the queue is in the index)
        this.o.log.warn({ sink: sink.name, err: (err as Error).message }, 'events: reading the queue failed');
        await this.sleep(this.retry.minMs);
      }
    }
  }

  /** Delivers the queue for HOLD_MS (or until closed), then lets the lease go. */
  private async drain(sink: Sink): Promise<void> {
    const until = Date.now() + HOLD_MS;
    let failures = 0;
    let trimmed = 0;
    while (!this.closed && Date.now() < until) {
      if (Date.now() - trimmed > TRIM_EVERY_MS) {
        await this.trim(sink);
        trimmed = Date.now();
      }
      const batch = await this.o.queues.queuedEvents(sink.name, BATCH);
      if (batch.length === 0) {
        await this.sleep(this.pollMs);
        continue;
      }
      const { acked, failed } = await this.deliver(sink, batch);
      await this.o.queues.ackEvents(sink.name, acked);
      if (!failed) {
        failures = 0;
        continue;
      }
      failures++;
      await this.sleep(Math.min(this.retry.maxMs, this.retry.minMs * 2 ** (failures - 1)));
    }
  }

  /** The batch's repositories side by side, each in order; what the sink took, and whether anything failed. */
  private async deliver(sink: Sink, batch: QueuedEvent[]): Promise<{ acked: number[]; failed: boolean }> {
    const byRepo = new Map<string, QueuedEvent[]>();
    for (const e of batch) {
      const list = byRepo.get(e.repo);
      if (list) list.push(e);
      else byRepo.set(e.repo, [e]);
    }
    const chains = [...byRepo.values()];
    const acked: number[] = [];
    let failed = false;
    const counters = this.counters.get(sink.name)!;
    const next = async (): Promise<void> => {
      for (let chain = chains.shift(); chain && !this.closed; chain = chains.shift()) {
        for (const e of chain) {
          try {
            await sink.post(cloudEvent(e, this.o.source, this.o.store));
          } catch (err) {
            failed = true;
            counters.failed++;
            this.o.log.warn({ sink: sink.name, event: `${this.o.store}-${e.seq}`, err: (err as Error).message }, 'events: delivery failed, will retry');
            break; // the rest of this repository waits: its order is kept
          }
          counters.delivered++;
          acked.push(e.seq);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, chains.length) }, next));
    return { acked, failed };
  }

  /** A queue past maxQueued loses its oldest events (the documented bound: the index must not fill the disk). */
  private async trim(sink: Sink): Promise<void> {
    const waiting = (await this.o.queues.eventBacklog()).get(sink.name)?.count ?? 0;
    const excess = waiting - this.o.maxQueued;
    if (excess <= 0) return;
    await this.o.queues.dropEvents(sink.name, excess);
    this.backlogRead = undefined;
    this.counters.get(sink.name)!.dropped += excess;
    this.o.log.error({ sink: sink.name, dropped: excess, maxQueued: this.o.maxQueued }, 'events: queue full, oldest events dropped');
  }

  /**
   * Events waiting for a sink no longer configured would wait forever: they go, logged. Not with
   * replicas, where a replica still on the old configuration during a rolling update would empty
   * a new sink's queue.
   */
  private async forgetRemovedSinks(): Promise<void> {
    try {
      const names = new Set(this.o.sinks.map((s) => s.name));
      for (const [sink, { count }] of await this.o.queues.eventBacklog()) {
        if (names.has(sink)) continue;
        await this.o.queues.dropEvents(sink, count);
        this.o.log.warn({ sink, dropped: count }, 'events: dropped the queue of a sink no longer configured');
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'events: could not check for removed sinks');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
