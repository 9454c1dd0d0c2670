/** Errors and the small value grammars of berth's configuration (durations, listen addresses). */

export class ConfigError extends Error {}

/** A configured engine (a database, an object store) that cannot be reached or refuses berth, at start. */
export class EngineError extends Error {}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`listen: expected HOST:PORT, got ${listen}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** "24h", "30m", "90s", "2d", "500ms" or a number of seconds, in milliseconds. */
export function durationMs(v: string | number): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) throw new Error(`expected a duration such as "24h", "30m" or "90s", got ${JSON.stringify(v)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** A size such as 4G, 650M, 512K or a number of bytes (binary units: 1K = 1024). */
export function byteSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(v.trim());
  if (!m) throw new ConfigError(`"${v}" is not a size (such as 4G, 650M, 512K or a number of bytes)`);
  const n = Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase()));
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`"${v}" is not a size berth can use`);
  return n;
}

/** A size (bytes, or 50G, 800M...) or a share of the volume ("80%"). */
export function sizeOrShare(v: string | number): { bytes: number } | { percent: number } {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v <= 0) throw new ConfigError(`${v} is not a size in bytes`);
    return { bytes: v };
  }
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent <= 0 || percent > 100) throw new ConfigError(`"${v}": a share of the volume between 0 and 100%`);
    return { percent };
  }
  return { bytes: byteSize(v) };
}
