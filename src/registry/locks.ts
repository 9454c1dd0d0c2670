/**
 * Serialises work per key inside this process (berth is one process per root): two manifest PUTs
 * to one repository, or two PATCHes to one upload session, run one after the other.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/**
 * Many holders share it, or one holds it alone. The short steps that make a blob or a manifest's
 * bytes reachable (link a blob, write a manifest) share it; garbage collection's sweep of bytes that
 * nothing references takes it alone, so nothing becomes referenced between its check and its delete.
 * A waiting exclusive holder goes before later shared ones, so a sweep is never starved.
 */
export class SweepLock {
  private sharedHolders = 0;
  private exclusive = false;
  private waitingExclusive = 0;
  private waiters: (() => void)[] = [];

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async wait(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((r) => this.waiters.push(r));
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.wait(() => !this.exclusive && this.waitingExclusive === 0);
    this.sharedHolders++;
    try {
      return await fn();
    } finally {
      this.sharedHolders--;
      this.wake();
    }
  }

  async alone<T>(fn: () => Promise<T>): Promise<T> {
    this.waitingExclusive++;
    try {
      await this.wait(() => !this.exclusive && this.sharedHolders === 0);
    } finally {
      this.waitingExclusive--;
    }
    this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wake();
    }
  }
}
