/** Concurrent calls for the same key share one run (one upstream fetch however many clients ask). */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.running.get(key);
    if (!p) {
      p = fn().finally(() => this.running.delete(key));
      this.running.set(key, p);
    }
    return p;
  }

  get size(): number {
    return this.running.size;
  }
}
