/** The split planner (bundles/parts.ts): parts within their size, blobs cut into contiguous segments, files whole. */
import { describe, expect, it } from 'vitest';
import { MIN_PART_BYTES, PartPlanner, planParts } from '../../../src/bundles/parts.js';

const hex = (n: number) => n.toString(16).padStart(64, '0');
const pad = (n: number) => Math.ceil(n / 512) * 512;

describe('split planner', () => {
  it('keeps every part within its size (header, entries, end of archive), cuts blobs contiguously, never cuts a file', () => {
    const size = MIN_PART_BYTES;
    const entries = [
      { name: 'oci-layout', size: 30 },
      ...[10, 700_000, 2_600_000, 512, 1_047_552, 5, 333_333].map((n, i) => ({ name: `blobs/sha256/${hex(i + 1)}`, size: n })),
      { name: 'index.json', size: 900_000 },
    ];
    const planner = new PartPlanner(size);
    const used = new Map<number, number>();
    for (const e of entries) {
      const placed = planner.place(e.name, e.size);
      let at = 0;
      for (const p of placed) {
        expect(p.start).toBe(at);
        at = p.end;
        used.set(p.part, (used.get(p.part) ?? 0) + 512 + pad(p.end - p.start));
        if (placed.length > 1) expect(p.name).toBe(`segments/sha256/${e.name.slice(-64)}/${p.start}-${p.end}`);
      }
      expect(at).toBe(e.size);
      if (!e.name.startsWith('blobs/')) expect(placed).toHaveLength(1);
    }
    for (const total of used.values()) expect(total + 2048).toBeLessThanOrEqual(size);
    expect(planner.parts).toBe(Math.max(...used.keys()) + 1);
    // planning the same entries again gives the same parts and id; another size another id
    expect(planParts(entries, size)).toEqual(planParts(entries, size));
    expect(planParts(entries, size).bundle).not.toBe(planParts(entries, 2 * size).bundle);
  });

  it('refuses a part size below the minimum and a file larger than a part', () => {
    expect(() => new PartPlanner(MIN_PART_BYTES - 1)).toThrow(/at least/);
    expect(() => new PartPlanner(MIN_PART_BYTES).place('index.json', MIN_PART_BYTES)).toThrow(/does not fit in a part/);
  });
});
