/**
 * berth's on-demand collections (runtime/gc.ts) on the real V8 of the Node that runs the tests, each
 * case in a process of its own started with --expose-gc, as berth's #! line starts berth.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const probe = new URL('../helpers/heap-probe.mjs', import.meta.url).pathname;

function run(mode: 'chunks' | 'fragmented'): Record<string, number> {
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=2', '--heap-growing-percent=15', probe, mode], {
    cwd: new URL('../..', import.meta.url).pathname,
  });
  return JSON.parse(out.toString()) as Record<string, number>;
}

describe('on-demand collections', () => {
  it('free request-body chunks that were promoted to the old generation (a full collection, not a young one)', () => {
    const r = run('chunks');
    expect(r.before).toBeGreaterThanOrEqual(20);
    expect(r.after).toBeLessThan(r.before - 15);
  });

  it('compactOld() gives back much of an old space that a plain full collection leaves fragmented', () => {
    const r = run('fragmented');
    expect(r.kept).toBe(100_000);
    expect(r.plain - r.used).toBeGreaterThan(20); // what the probe can see: a plain collection keeps the pages
    expect(r.compacted).toBeLessThan(r.plain - 15);
  });
});
