/** How LevelIndex and its helpers (level-records.ts, level-events.ts) write and read values. */

export type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

export const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/**
 * Reads of everything but manifest bytes come back as strings: V8 collects those with its heap,
 * whereas each value Buffer is memory outside it that V8 lets pile up (tens of MiB on a walk of a
 * large store) before it collects.
 */
export const TEXT = { valueEncoding: 'utf8' } as const;
