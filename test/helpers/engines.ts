/**
 * Which engines a test runs berth on: the defaults (files and LevelDB under a root), its metadata in
 * the run's PostgreSQL, or its blobs in the run's Ceph RGW too. Each choice gets a fresh database
 * and a fresh key prefix, so tests never see each other's data.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OpenOptions } from '../../src/open.js';
import type { S3Config } from '../../src/config/config.js';
import { s3TestConfig } from './ceph.js';
import { pgDatabase } from './postgres.js';

export type Engine = 'default' | 'postgres' | 's3+postgres';

export const ENGINES: readonly Engine[] = ['default', 's3+postgres'];

/** The configuration of an engine choice: a fresh database on the run's PostgreSQL, a fresh prefix in its bucket. */
export async function engineConfig(engine: Engine, s3Extra: Partial<S3Config> = {}): Promise<Pick<OpenOptions, 'storage' | 'metadata'>> {
  if (engine === 'default') return {};
  const metadata = { driver: 'postgres' as const, postgres: { url: await pgDatabase('registry') } };
  if (engine === 'postgres') return { metadata };
  return { metadata, storage: { driver: 's3', s3: { ...s3TestConfig(), ...s3Extra } } };
}

/** `--config FILE` arguments for a spawned berth (or `berth verify`) on these engines; none for the defaults. */
export async function engineArgs(engine: Engine, dir: string): Promise<string[]> {
  if (engine === 'default') return [];
  const file = join(dir, `engines-${engine.replace('+', '-')}.yaml`);
  await writeFile(file, `${JSON.stringify(await engineConfig(engine))}\n`); // JSON is YAML
  return ['--config', file];
}
