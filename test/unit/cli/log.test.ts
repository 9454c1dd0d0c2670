import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchedDestination } from '../../../src/cli/log.js';

const info = (i: number, pad = '') => `{"level":30,"time":1,"msg":"line ${i}${pad}"}\n`;
const warn = (i: number) => `{"level":40,"time":1,"msg":"warning ${i}"}\n`;

describe('BatchedDestination', () => {
  let dir: string;
  let fd: number;
  const file = () => readFileSync(join(dir, 'log'), 'utf8');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-log-'));
    fd = openSync(join(dir, 'log'), 'w');
  });
  afterEach(() => {
    vi.useRealTimers();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps info lines until a second has passed, then writes them all, in order', () => {
    vi.useFakeTimers();
    const dest = new BatchedDestination(fd);
    for (let i = 0; i < 10; i++) dest.write(info(i));
    expect(file()).toBe('');
    vi.advanceTimersByTime(999);
    expect(file()).toBe('');
    vi.advanceTimersByTime(1);
    expect(file()).toBe(Array.from({ length: 10 }, (_, i) => info(i)).join(''));
  });

  it('writes a warning at once, with every line gathered before it', () => {
    const dest = new BatchedDestination(fd);
    dest.write(info(1));
    dest.write(warn(2));
    expect(file()).toBe(info(1) + warn(2));
  });

  it('writes when the buffer would overflow, never splitting a line, and takes lines longer than the buffer', () => {
    const dest = new BatchedDestination(fd);
    const lines = Array.from({ length: 400 }, (_, i) => info(i, 'x'.repeat(i % 7 === 0 ? 900 : 100)));
    for (const l of lines) dest.write(l);
    const written = file();
    expect(written.length).toBeGreaterThan(0); // the 64 KiB filled: some were written without a timer
    expect(lines.join('').startsWith(written)).toBe(true);
    expect(written.endsWith('\n')).toBe(true);
    const long = info(-1, 'y'.repeat(100_000));
    dest.write(long);
    dest.write(info(9999, 'é ü'));
    dest.flushSync();
    expect(file()).toBe(lines.join('') + long + info(9999, 'é ü'));
  });

  it("writes what is left when the process exits (pino's flush, process.exit, an uncaught error)", () => {
    const mod = pathToFileURL(join(process.cwd(), 'dist/cli/log.js')).href;
    for (const [how, end] of [
      ['exit', 'process.exit(3)'],
      ['throw', "throw new Error('boom')"],
      ['return', ''],
    ] as const) {
      const out = join(dir, `${how}.log`);
      const script = `import { openSync } from 'node:fs'; const { BatchedDestination } = await import(${JSON.stringify(mod)});
        const d = new BatchedDestination(openSync(${JSON.stringify(out)}, 'w'));
        for (let i = 0; i < 100; i++) d.write(${JSON.stringify(info(0))});
        setTimeout(() => { ${end} }, 0);`;
      try {
        execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
      } catch {
        // exit 3 and the uncaught error end the child with a failure: what counts is the file
      }
      expect(readFileSync(out, 'utf8'), how).toBe(info(0).repeat(100));
    }
  });
});
