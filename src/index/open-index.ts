/**
 * The metadata index `metadata.driver` names: LevelDB under the storage root (the default, no other
 * process), or PostgreSQL. The PostgreSQL module and its client load only when it is configured.
 */
import { ConfigError, durationMs, type MetadataConfig } from '../config/config.js';
import { LevelIndex } from './level-index.js';
import type { EventRouter, MetadataIndex } from './metadata.js';
import type { PgIndexOptions } from './pg-index.js';

/** A schema name berth accepts: it goes into statements as an identifier. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** metadata.postgres with its defaults; `berth config check` runs it too. */
export function postgresOptions(metadata: MetadataConfig): PgIndexOptions {
  const p = metadata.postgres ?? {};
  if (!p.url) throw new ConfigError('metadata.postgres.url: required when metadata.driver is postgres');
  const schema = p.schema ?? 'berth';
  if (!SCHEMA_NAME.test(schema)) throw new ConfigError(`metadata.postgres.schema: must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}`);
  const poolSize = p.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new ConfigError('metadata.postgres.poolSize: must be a whole number of at least 1');
  return {
    url: p.url,
    schema,
    poolSize,
    connectTimeoutMs: durationMs(p.connectTimeout ?? '5s'),
    queryTimeoutMs: durationMs(p.queryTimeout ?? '15s'),
  };
}

/** `events`: where each change's event goes (events on); absent, no event is recorded. */
export async function openIndex(levelDir: string, fsync: boolean, metadata: MetadataConfig | undefined, events?: EventRouter): Promise<MetadataIndex> {
  if (metadata?.driver === 'postgres') {
    const { PgIndex } = await import('./pg-index.js');
    return PgIndex.open(postgresOptions(metadata), events);
  }
  const index = new LevelIndex(levelDir, fsync, events);
  await index.open();
  return index;
}
