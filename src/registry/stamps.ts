/**
 * Repositories' change stamps (SharedIndex.stamps), read for many requests at once. A request that
 * asks waits for the next read that starts after it asked, never for one already under way: a change
 * acknowledged (201/202 sent) before a request arrived is committed before that read begins, so the
 * stamp the request gets has moved past it, and a cache entry filled before the change is not
 * served. One read is in flight at a time and carries every repository asked for meanwhile: at 64
 * concurrent pulls that is one round trip for dozens of requests, not one each.
 *
 * While the index cannot answer, stamps are `null` for RETRY_MS after each failure: callers then
 * serve what they hold (no replica can change a tag while the database is away) instead of waiting
 * out a connect timeout on every request.
 */

/** A stamp read, '' for a repository that does not exist, or null when the index cannot answer now. */
export type Stamp = string | null;

const RETRY_MS = 1000;

export class StampReader {
  private waiting = new Map<string, ((s: Stamp) => void)[]>();
  private busy = false;
  private downUntil = 0;
  /** Stamps asked for, and the index reads that answered them (many asks share one read). */
  readonly counts = { checks: 0, reads: 0 };

  constructor(private readonly read: (repos: string[]) => Promise<Map<string, string>>) {}

  of(repo: string): Promise<Stamp> {
    this.counts.checks++;
    if (Date.now() < this.downUntil) return Promise.resolve(null);
    return new Promise((resolve) => {
      const list = this.waiting.get(repo);
      if (list) list.push(resolve);
      else this.waiting.set(repo, [resolve]);
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.waiting.size > 0) {
      const batch = this.waiting;
      this.waiting = new Map();
      let stamps: Map<string, string> | undefined;
      try {
        this.counts.reads++;
        stamps = await this.read([...batch.keys()]);
      } catch {
        this.downUntil = Date.now() + RETRY_MS;
      }
      for (const [repo, waiters] of batch) {
        const s = stamps ? (stamps.get(repo) ?? '') : null;
        for (const w of waiters) w(s);
      }
    }
    this.busy = false;
  }
}
