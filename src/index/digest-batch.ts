/**
 * A batch of digests, given in ascending order, each to be marked when something uses it; what is
 * left unmarked is the batch's garbage. sha256 digests (all but a rare few) are packed as 32 bytes
 * each in one buffer and found by binary search: 2 MiB for 65,536 of them, where a Set of strings
 * holds about 130 bytes of V8 heap per digest and grows the heap for good. Other algorithms go in a
 * small Set. The buffer is one allocation of the process's memory, returned whole when the batch goes.
 */
const SHA256 = 'sha256:';
const HEX_LEN = 64;
const BYTES = 32;

export class DigestBatch {
  private packed: Buffer;
  private marked: Uint8Array;
  private count = 0;
  private readonly others = new Map<string, boolean>();
  private readonly probe = Buffer.alloc(BYTES);

  constructor(readonly capacity: number) {
    // grown as digests come, so a small store's batch stays small
    const first = Math.min(capacity, 1024);
    this.packed = Buffer.alloc(first * BYTES);
    this.marked = new Uint8Array(first);
  }

  get size(): number {
    return this.count + this.others.size;
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Adds the next digest; sha256 digests must come in ascending order (as an index's keys do). */
  add(digest: string): void {
    if (this.full) throw new RangeError(`DigestBatch: more than ${this.capacity} digests`);
    if (!isSha256(digest)) return void this.others.set(digest, false);
    if ((this.count + 1) * BYTES > this.packed.length) this.grow();
    this.packed.write(digest.slice(SHA256.length), this.count * BYTES, BYTES, 'hex');
    this.count++;
  }

  /** Marks a digest used, if it is in the batch. */
  mark(digest: string): void {
    if (!isSha256(digest)) {
      if (this.others.has(digest)) this.others.set(digest, true);
      return;
    }
    this.probe.write(digest.slice(SHA256.length), 0, BYTES, 'hex');
    const i = this.find(this.probe);
    if (i >= 0) this.marked[i] = 1;
  }

  /** The digests nothing marked, sha256 first, in the order they were added. */
  unmarked(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      if (!this.marked[i]) out.push(SHA256 + this.packed.toString('hex', i * BYTES, (i + 1) * BYTES));
    }
    for (const [d, used] of this.others) if (!used) out.push(d);
    return out;
  }

  private grow(): void {
    const entries = Math.min(this.capacity, 2 * this.marked.length);
    const packed = Buffer.alloc(entries * BYTES);
    this.packed.copy(packed, 0, 0, this.count * BYTES);
    this.packed = packed;
    const marked = new Uint8Array(entries);
    marked.set(this.marked.subarray(0, this.count));
    this.marked = marked;
  }

  private find(probe: Buffer): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.packed.compare(probe, 0, BYTES, mid * BYTES, (mid + 1) * BYTES);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** `sha256:` and 64 lower-case hex digits: the form whose order as text is its order as bytes. */
function isSha256(d: string): boolean {
  return d.length === SHA256.length + HEX_LEN && d.startsWith(SHA256) && /^[0-9a-f]{64}$/.test(d.slice(SHA256.length));
}
