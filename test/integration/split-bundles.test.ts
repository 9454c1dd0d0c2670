/**
 * Split bundles with the real CLI: `berth export --split` writes parts no larger than asked (a blob
 * larger than a part cut across parts), the same bytes from a stopped root and through a running berth;
 * an import takes the parts in any order, publishes nothing until the last one is in, and after being
 * killed halfway resumes (the parts it finished are skipped) and ends with the same images as the whole
 * bundle, byte for byte.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, spawnBerth, requesterOf } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob, imageManifest, pushBlob, pushManifest, type Blob } from '../helpers/oci.js';


const MiB = 1024 * 1024;

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  // never the order they were written in: the point is any order
  return out.every((x, i) => x === xs[i]) ? [...xs].reverse() : out;
}

describe('split bundles', () => {
  it('writes parts within the size, imports them in any order, and resumes after a kill, ending identical to the whole bundle', async () => {
    const dir = await testDir('berth-split-');
    const images = ['big/app:1', 'small/tool:2'];
    const source = await spawnBerth({ root: join(dir, 'source') });
    const push = async (repo: string, tag: string, config: Blob, layers: Blob[]) => {
      for (const b of [config, ...layers]) await pushBlob(requesterOf(source), repo, b);
      await pushManifest(requesterOf(source), repo, tag, imageManifest(config, layers));
    };
    let throughServer: string[];
    try {
      // a 2.5 MiB layer: cut across parts of 1 MiB
      await push('big/app', '1', blob(300), [blob(2.5 * MiB), blob(300 * 1024)]);
      await push('small/tool', '2', blob(300), [blob(200 * 1024)]);
      const viaServer = await runCli(['export', ...images, '--split', '1M', '-o', join(dir, 'srv.tar'), '--root', source.root]);
      expect(viaServer.code, viaServer.out).toBe(0);
      throughServer = JSON.parse(viaServer.stdout).parts;
    } finally {
      await source.stop();
    }
    const full = join(dir, 'full.tar');
    expect((await runCli(['export', ...images, '-o', full, '--root', source.root])).code).toBe(0);
    const made = await runCli(['export', ...images, '--split', '1M', '-o', join(dir, 'split.tar'), '--root', source.root]);
    expect(made.code, made.out).toBe(0);
    const { parts, bundle } = JSON.parse(made.stdout) as { parts: string[]; bundle: string };
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(bundle).toMatch(/^sha256:[a-f0-9]{64}$/);
    for (const [i, p] of parts.entries()) {
      expect(p).toBe(join(dir, `split.tar.part${i + 1}of${parts.length}`));
      expect((await stat(p)).size).toBeLessThanOrEqual(MiB);
      // the same parts, byte for byte, whether a running berth or the stopped root wrote them
      expect((await readFile(p)).equals(await readFile(throughServer![i]!))).toBe(true);
    }
    console.log(`split bundle: ${parts.length} parts of at most 1 MiB for a ${(await stat(full)).size}-byte bundle`);

    // site A: every part in one command, shuffled; all but the last leave nothing visible
    const siteA = join(dir, 'a');
    const some = shuffled(parts);
    const first = await runCli(['import', ...some.slice(0, -1), '--root', siteA]);
    expect(first.code, first.out).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1).part.waiting).toEqual([parts.indexOf(some.at(-1)!) + 1]);
    expect(lines.every((l) => l.images.length === 0)).toBe(true);
    const last = await runCli(['import', some.at(-1)!, '--root', siteA]);
    expect(last.code, last.out).toBe(0);
    const report = JSON.parse(last.stdout);
    expect(report.bundle.digest).toBe(bundle);
    expect(report.images.map((i: { repository: string; tag: string }) => `${i.repository}:${i.tag}`)).toEqual(images);
    expect(existsSync(join(siteA, 'imports', bundle.slice(7)))).toBe(false);
    const again = join(dir, 'a.tar');
    expect((await runCli(['export', ...images, '-o', again, '--root', siteA])).code).toBe(0);
    expect((await readFile(again)).equals(await readFile(full))).toBe(true);

    // site B: killed once the first part is in (the second one half read), then run again
    const siteB = join(dir, 'b');
    const order = shuffled(parts);
    const child = spawn(CLI, ['import', ...order, '--root', siteB], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('\n')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`import ended (${code}) before its first part was reported`)));
    });
    await new Promise((r) => child.once('close', r));
    const resumed = await runCli(['import', ...order, '--root', siteB]);
    expect(resumed.code, resumed.out).toBe(0);
    const resumedLines = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(resumedLines[0]).toMatchObject({ part: { part: parts.indexOf(order[0]!) + 1, skipped: true } });
    expect(resumedLines.at(-1).images).toHaveLength(2);
    const b = join(dir, 'b.tar');
    expect((await runCli(['export', ...images, '-o', b, '--root', siteB])).code).toBe(0);
    expect((await readFile(b)).equals(await readFile(full))).toBe(true);
    const verify = await runCli(['verify', '--root', siteB]);
    expect(verify.code, verify.out).toBe(0);

    // a site given no part that holds index.json: nothing published, the parts it lacks listed
    const siteC = join(dir, 'c');
    const partial = await runCli(['import', parts[0]!, '--root', siteC]);
    expect(partial.code, partial.out).toBe(0);
    expect(JSON.parse(partial.stdout).part.waiting).toEqual(parts.slice(1).map((_, i) => i + 2));
    const listed = await runCli(['bundles', 'list', '--root', siteC]);
    expect(JSON.parse(listed.stdout).bundles).toEqual([]);
  });

  it('refuses a split too small for a part, and a size that is not one', async () => {
    const dir = await testDir('berth-split-bad-');
    const source = await spawnBerth({ root: join(dir, 'source') });
    try {
      const c = blob(100);
      await pushBlob(requesterOf(source), 'x/y', c);
      await pushManifest(requesterOf(source), 'x/y', '1', imageManifest(c, []));
    } finally {
      await source.stop();
    }
    const tiny = await runCli(['export', 'x/y:1', '--split', '64K', '-o', join(dir, 'o.tar'), '--root', source.root]);
    expect(tiny.code).not.toBe(0);
    expect(tiny.stderr).toContain('a part must hold at least');
    const bad = await runCli(['export', 'x/y:1', '--split', 'lots', '-o', join(dir, 'o.tar'), '--root', source.root]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('"lots" is not a size');
    expect(existsSync(join(dir, 'o.tar.part1of1'))).toBe(false);
  });
});
