/** Manifest GET/HEAD load with wrk (a C load generator, lighter than any Node one on 2 cores). */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  p50: number; // ms
  p99: number; // ms
  non2xx: number;
}

function ms(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export async function wrk(url: string, method: 'GET', accept: string, seconds: number, connections: number, dir: string): Promise<WrkResult> {
  const script = join(dir, `wrk-${method}.lua`);
  await writeFile(script, `wrk.method = "${method}"\nwrk.headers["Accept"] = "${accept}"\n`);
  const { stdout } = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { timeout: (seconds + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(stdout);
    return m ? ms(m[1]!, m[2]!) : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps, p50: pct('50'), p99: pct('99'), non2xx };
}

/**
 * HEAD load with ab (apache2-utils): wrk's parser waits for a body after a HEAD that carries
 * Content-Length, so it cannot measure HEAD. ab reports whole-millisecond percentiles.
 */
export async function abHead(url: string, accept: string, seconds: number, connections: number): Promise<WrkResult> {
  const { stdout } = await run('ab', ['-q', '-i', '-k', '-c', String(connections), '-t', String(seconds), '-n', '100000000', '-H', `Accept: ${accept}`, url], {
    timeout: (seconds + 30) * 1000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const pct = (p: string) => Number(new RegExp(`^\\s+${p}%\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps, p50: pct('50'), p99: pct('99'), non2xx };
}
