/**
 * `berth gc [--dry-run]`: on a stopped registry, opens its root and collects once; on a running one
 * (it holds the index's lock), asks it to collect through its loopback-only /_berth/gc.
 */
import { openStopped } from './stopped.js';
import { ConfigError, durationMs, parseListen, type BerthConfig } from '../config/config.js';

async function viaServer(config: BerthConfig, dryRun: boolean): Promise<void> {
  const { port } = parseListen(config.http.listen);
  let r: Response;
  try {
    r = await fetch(`http://127.0.0.1:${port}/_berth/gc${dryRun ? '?dryRun=1' : ''}`, { method: 'POST' });
  } catch {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on 127.0.0.1:${port} (give the config it runs with)`);
  }
  if (!r.ok) throw new ConfigError(`the running berth refused: HTTP ${r.status} ${await r.text()}`);
  process.stdout.write(`${await r.text()}\n`);
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
