/**
 * LevelDB maps its table files into memory by default, and every page a walk touches counts in
 * berth's resident set; berth's LevelIndex has it read them with pread() instead (level-tables.ts).
 * Each case runs in a process of its own: LevelDB reads the limit once per process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native/addon.js';

const probe = new URL('../helpers/mmap-probe.mjs', import.meta.url).pathname;
const dirs: string[] = [];

function run(mode: 'berth' | 'plain'): { walked: number; tables: number; files: number } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-mmap-'));
  dirs.push(dir);
  const out = execFileSync(process.execPath, [probe, mode, dir], { cwd: new URL('../..', import.meta.url).pathname }).toString();
  const files = readdirSync(dir).filter((f) => f.endsWith('.ldb')).length;
  return { ...(JSON.parse(out) as { walked: number; tables: number }), files };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LevelDB table files', () => {
  it('are mapped into the process by classic-level as it comes (what the probe can see)', () => {
    const r = run('plain');
    expect(r.files).toBeGreaterThan(0);
    expect(r.walked).toBe(40_000);
    expect(r.tables).toBeGreaterThan(0);
  });

  it('are read without mapping them through berth\'s LevelIndex', () => {
    expect(native, 'the native addon: apt-get install -y python3 make g++ && npm run build').toBeDefined();
    const r = run('berth');
    expect(r.files).toBeGreaterThan(0);
    expect(r.walked).toBe(40_000);
    expect(r.tables).toBe(0);
  });
});
