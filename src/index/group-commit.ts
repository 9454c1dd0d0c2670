/**
 * Group commit for synced LevelDB writes: batches submitted while one synced write is in flight are
 * joined into the next single write, so N concurrent requests pay for one fsync of the log instead
 * of N. Each caller's operations stay in one atomic batch, applied in submission order.
 */
export interface Writer<Op> {
  write(ops: Op[]): Promise<void>;
}

interface Waiting<Op> {
  ops: Op[];
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommit<Op> {
  private queue: Waiting<Op>[] = [];
  private busy = false;

  constructor(private readonly writer: Writer<Op>) {}

  submit(ops: Op[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.writer.write(group.flatMap((w) => w.ops));
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.busy = false;
  }
}
