/**
 * A circuit breaker per upstream: after a failure to reach it, berth stops trying for `openMs`, so
 * requests are answered from the cache at once instead of each waiting out a timeout. After that
 * one request tries again (half-open); its success closes the breaker, its failure reopens it.
 */
export class Breaker {
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly openMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when a request may go upstream now (at most one while half-open). */
  allow(): boolean {
    if (this.openUntil === 0) return true;
    if (this.now() < this.openUntil || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** True when the upstream is believed reachable (no request is made). */
  get closed(): boolean {
    return this.openUntil === 0 || (this.now() >= this.openUntil && !this.probing);
  }

  succeeded(): void {
    this.openUntil = 0;
    this.probing = false;
  }

  failed(): void {
    this.openUntil = this.now() + this.openMs;
    this.probing = false;
  }
}
