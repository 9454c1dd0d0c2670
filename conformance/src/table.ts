/**
 * Side-by-side table of two or more runs of the suite (each saved with --json):
 *   node conformance/dist/table.js berth=berth.json distribution=dist.json
 */
import { readFile } from 'node:fs/promises';
import type { Result } from './main.js';

/** One table cell: no newlines or pipes, and short. */
function cell(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim().slice(0, 110);
}

async function main(): Promise<void> {
  const runs: { label: string; results: Result[] }[] = [];
  for (const arg of process.argv.slice(2)) {
    const [label, file] = arg.includes('=') ? arg.split('=', 2) : [arg, arg];
    runs.push({ label: label!, results: (JSON.parse(await readFile(file!, 'utf8')) as { results: Result[] }).results });
  }
  const names = runs[0]!.results.map((r) => `${r.workflow}\u0000${r.name}`);
  const out: string[] = [];
  out.push(`| workflow | case | ${runs.map((r) => r.label).join(' | ')} |`);
  out.push(`|---|---|${runs.map(() => '---').join('|')}|`);
  for (const key of names) {
    const [workflow, name] = key.split('\u0000');
    const cells = runs.map((run) => {
      const r = run.results.find((x) => x.workflow === workflow && x.name === name);
      return !r ? 'n/a' : r.ok ? 'pass' : `**FAIL**: ${cell(r.detail ?? '')}`;
    });
    out.push(`| ${workflow} | ${cell(name!)} | ${cells.join(' | ')} |`);
  }
  const totals = runs.map((run) => {
    const p = run.results.filter((r) => r.ok).length;
    return `${p} passed, ${run.results.length - p} failed`;
  });
  out.push(`| | **total** | ${totals.join(' | ')} |`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(2);
});
