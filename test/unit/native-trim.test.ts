/**
 * The addon's trim() (malloc_trim(0)) gives back free memory that glibc keeps inside a fragmented
 * arena: 64 KiB buffers freed around a few kept ones stay resident until it runs. Measured in a
 * child process of its own (test/helpers/trim-probe.cjs, with --expose-gc so the buffers are surely
 * freed before the trim).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/addon.js';

describe('native trim', () => {
  it('is built, and returns freed arena memory to the system', () => {
    expect(native, 'the native addon: npm run build with python3, make and g++ installed').toBeDefined();
    const addon = new URL('../../dist/native/sendfile.node', import.meta.url).pathname;
    const probe = new URL('../helpers/trim-probe.cjs', import.meta.url).pathname;
    const out = execFileSync(process.execPath, ['--expose-gc', probe, addon], { env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: '2' } }).toString();
    const r = JSON.parse(out) as { before: number; after: number; trimmed: boolean };
    expect(r.trimmed, out).toBe(true);
    expect(r.before - r.after, out).toBeGreaterThan(32 * 1024); // KiB: most of the 125 MiB freed
  });
});
