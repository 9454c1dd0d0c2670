/**
 * `berth config check FILE`: reads the file (and BERTH_* overrides) as `berth serve` would and checks
 * what start-up checks, without opening the data root. A configured S3 bucket and PostgreSQL are
 * connected to (and nothing written). Exit 0 and "ok", or the error naming the key and its place (exit 2), or the
 * server and the cause.
 */
import { access } from 'node:fs/promises';
import { ConfigError, loadConfig, parseListen } from '../config/config.js';
import { validateMirror } from '../mirror/mirror.js';
import { limitsFrom } from './serve.js';
import { readTls } from './tls.js';
import { postgresOptions } from '../index/open-index.js';
import { probeBucket } from '../storage/open-store.js';

export async function configCheck(file: string): Promise<void> {
  const config = await loadConfig(file);
  parseListen(config.http.listen);
  const htpasswd = config.http.auth?.htpasswd?.path;
  if (htpasswd) await access(htpasswd).catch((err: Error) => Promise.reject(new ConfigError(`http.auth.htpasswd.path: ${err.message}`)));
  if (config.http.externalUrl !== undefined && !/^https?:\/\/[^/]/.test(config.http.externalUrl)) {
    throw new ConfigError(`http.externalUrl: expected http(s)://host[:port][/path], got ${config.http.externalUrl}`);
  }
  if (config.mirror) validateMirror(config.mirror);
  limitsFrom(config);
  if (config.http.tls) readTls(config.http.tls); // the files load and the key matches the certificate
  if (config.webhook?.enabled) readTls(config.webhook.tls!, 'webhook.tls');
  if (config.storage.driver === 's3') process.stdout.write(`storage: S3 at ${await probeBucket(config.storage.s3)} answers\n`);
  if (config.metadata.driver === 'postgres') {
    const pg = postgresOptions(config.metadata);
    const version = await (await import('../index/pg-index.js')).PgIndex.probe(pg);
    process.stdout.write(`metadata: PostgreSQL ${version} answers\n`);
  }
  process.stdout.write(`${file}: ok\n`);
}
