/**
 * The event sinks' queues in LevelDB (keys.ts: `Q <sink> <seq>`), as delivery reads and empties
 * them; LevelIndex writes them in the batches of the changes they describe.
 */
import type { Level } from 'level';
import type { ChangeEvent, QueuedEvent } from './metadata.js';
import { END, firstPart, keys, suffix } from './keys.js';
import { TEXT } from './level-values.js';


/** LevelIndex's short scans (they take turns: see LevelIndex.scan). */
type Scan = <T>(open: () => { nextv(size: number): Promise<T[]>; close(): Promise<void> }) => Promise<T[]>;

export class LevelEventQueues {
  constructor(
    private readonly db: Level<string, Buffer>,
    private readonly scan: Scan,
  ) {}

  async queued(sink: string, limit: number): Promise<QueuedEvent[]> {
    const prefix = keys.eventQueuePrefix(sink);
    const entries = await this.scan(() => this.db.iterator<string, string>({ gte: prefix, lt: prefix + END, limit, ...TEXT }));
    return entries.map(([k, v]) => ({ ...(JSON.parse(v) as ChangeEvent), seq: Number(suffix(k, prefix)) }));
  }

  /** Not synced: an acknowledgement lost in a crash only delivers that event again (at least once). */
  async ack(sink: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length) await this.db.batch(seqs.map((seq) => ({ type: 'del' as const, key: keys.queuedEvent(sink, seq) })), { sync: false });
  }

  async backlog(): Promise<Map<string, { count: number; oldestAt: number }>> {
    const prefix = keys.allEventQueuesPrefix();
    const out = new Map<string, { count: number; oldestAt: number }>();
    const first = new Map<string, string>();
    for await (const k of this.db.keys({ gte: prefix, lt: prefix + END })) {
      const sink = firstPart(k, prefix);
      const s = out.get(sink);
      if (s) s.count++;
      else {
        out.set(sink, { count: 1, oldestAt: 0 });
        first.set(sink, k);
      }
    }
    for (const [sink, k] of first) {
      const v = await this.db.get<string, string>(k, TEXT);
      if (v !== undefined) out.get(sink)!.oldestAt = (JSON.parse(v) as ChangeEvent).at;
    }
    return out;
  }

  async drop(sink: string, count: number): Promise<void> {
    const prefix = keys.eventQueuePrefix(sink);
    const doomed = await this.scan(() => this.db.keys({ gte: prefix, lt: prefix + END, limit: count }));
    if (doomed.length) await this.db.batch(doomed.map((key) => ({ type: 'del' as const, key })), { sync: false });
  }
}
