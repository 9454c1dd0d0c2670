import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestBatch } from '../../../src/index/digest-batch.js';

const sha = (i: number) => `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;

describe('DigestBatch', () => {
  it('returns exactly the digests nothing marked, in the order they were added', () => {
    const all = Array.from({ length: 1000 }, (_, i) => sha(i)).sort();
    const batch = new DigestBatch(1000);
    for (const d of all) batch.add(d);
    expect(batch.full).toBe(true);
    const used = all.filter((_, i) => i % 3 !== 0);
    for (const d of used) batch.mark(d);
    batch.mark(sha(5000)); // not in the batch: nothing happens
    batch.mark(all[1]!); // twice
    expect(batch.unmarked()).toEqual(all.filter((_, i) => i % 3 === 0));
  });

  it('grows past its first allocation and still finds every digest', () => {
    const all = Array.from({ length: 5000 }, (_, i) => sha(i)).sort();
    const batch = new DigestBatch(5000);
    for (const d of all) batch.add(d);
    for (const d of all.slice(2500)) batch.mark(d);
    expect(batch.unmarked()).toEqual(all.slice(0, 2500));
  });

  it('finds the first and the last digest, and in a batch of one', () => {
    const all = Array.from({ length: 7 }, (_, i) => sha(i)).sort();
    const batch = new DigestBatch(10);
    for (const d of all) batch.add(d);
    batch.mark(all[0]!);
    batch.mark(all[6]!);
    expect(batch.unmarked()).toEqual(all.slice(1, 6));
    const one = new DigestBatch(1);
    one.add(all[3]!);
    expect(one.unmarked()).toEqual([all[3]]);
    one.mark(all[3]!);
    expect(one.unmarked()).toEqual([]);
  });

  it('keeps digests of other algorithms and odd forms apart, counted in the batch, matched exactly', () => {
    const sha512 = `sha512:${'ab'.repeat(64)}`;
    const upper = `sha256:${'AB'.repeat(32)}`; // not canonical: never confused with its lower-case twin
    const lower = `sha256:${'ab'.repeat(32)}`;
    const batch = new DigestBatch(4);
    batch.add(lower);
    batch.add(sha512);
    batch.add(upper);
    expect(batch.size).toBe(3);
    batch.mark(sha512);
    batch.mark(upper.toLowerCase());
    expect(batch.unmarked()).toEqual([upper]);
    batch.add(sha(1));
    expect(() => batch.add(sha(2))).toThrow(RangeError);
  });
});
