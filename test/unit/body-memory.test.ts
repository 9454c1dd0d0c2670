import { describe, expect, it } from 'vitest';
import { ChunkCollector, GC_EVERY, GC_EVERY_PIPED, PROMOTED_LIMIT } from '../../src/storage/body-memory.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function collector(external: { bytes: number }) {
  const calls: string[] = [];
  const c = new ChunkCollector((o) => calls.push(o.type), () => external.bytes);
  return { c, calls };
}

describe('ChunkCollector', () => {
  it('counts the bytes of all uploads together: many small bodies still lead to collections', () => {
    const { c, calls } = collector({ bytes: 0 });
    // 64 uploads of 1 MiB at once, interleaved by 64 KiB chunk: none of them reaches GC_EVERY alone.
    for (let round = 0; round < 16; round++) for (let upload = 0; upload < 64; upload++) c.received(64 * KiB);
    expect(calls.filter((t) => t === 'minor')).toHaveLength((64 * MiB) / GC_EVERY);
  });

  it('counts piped downloads against their own interval, and both kinds of bytes toward one collection', () => {
    const { c, calls } = collector({ bytes: 0 });
    for (let i = 0; i < (8 * MiB) / (64 * KiB); i++) c.received(64 * KiB, GC_EVERY_PIPED);
    expect(calls).toHaveLength((8 * MiB) / GC_EVERY_PIPED);
    // half an interval of each is one whole collection
    c.received(GC_EVERY / 2, GC_EVERY);
    c.received(GC_EVERY_PIPED / 2, GC_EVERY_PIPED);
    expect(calls).toHaveLength((8 * MiB) / GC_EVERY_PIPED + 1);
  });

  it('runs a full collection only when external memory grew PROMOTED_LIMIT past what the last one left', () => {
    const external = { bytes: 0 };
    const { c, calls } = collector(external);
    external.bytes = PROMOTED_LIMIT - 1;
    c.received(GC_EVERY);
    expect(calls).toEqual(['minor']);
    external.bytes = PROMOTED_LIMIT;
    c.received(GC_EVERY);
    expect(calls).toEqual(['minor', 'minor', 'major']); // what it left, PROMOTED_LIMIT, is the new baseline
    external.bytes = 2 * PROMOTED_LIMIT - 1;
    c.received(GC_EVERY);
    expect(calls).toEqual(['minor', 'minor', 'major', 'minor']);
  });

  it('follows the baseline down when live memory shrank, so the next full collection comes sooner', () => {
    const external = { bytes: 20 * MiB };
    const { c, calls } = collector(external);
    c.received(GC_EVERY); // minor, major: baseline 20 MiB
    external.bytes = 1 * MiB;
    c.received(GC_EVERY); // minor: baseline follows down to 1 MiB
    external.bytes = 1 * MiB + PROMOTED_LIMIT;
    c.received(GC_EVERY);
    expect(calls).toEqual(['minor', 'major', 'minor', 'minor', 'major']);
  });
});
