/**
 * `berth gc [--dry-run]`: on a stopped registry, opens its root and collects once; on a running one
 * (it holds the index's lock), asks it to collect through its loopback-only /_berth/gc.
 */
import { request } from 'undici';
import { localServer, openStopped } from './stopped.js';
import { ConfigError, durationMs, type BerthConfig } from '../config/config.js';

async function viaServer(config: BerthConfig, dryRun: boolean): Promise<void> {
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    // no client timeout: a collection of a large store takes minutes before its report
    r = await request(`${base}/_berth/gc${dryRun ? '?dryRun=1' : ''}`, { method: 'POST', dispatcher, headersTimeout: 0, bodyTimeout: 0 });
  } catch {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base} (give the config it runs with)`);
  }
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new ConfigError(`the running berth refused: HTTP ${r.statusCode} ${text}`);
  process.stdout.write(`${text}\n`);
}

export async function gcOnce(config: BerthConfig, dryRun: boolean): Promise<void> {
  const opened = await openStopped(config);
  if (!opened) return viaServer(config, dryRun);
  try {
    const report = await opened.registry.gc.run({ delayMs: durationMs(config.storage.gc.delay), dryRun });
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await opened.close();
  }
}
