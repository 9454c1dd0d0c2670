/**
 * TLS for `berth serve` (issue 8): http.tls.cert/key, and clientCA for mutual TLS. A replaced
 * certificate is picked up without a restart: the files are polled (a rename or a Kubernetes Secret's
 * symlink swap is seen as well as an in-place write), and a pair that loads is installed with
 * server.setSecureContext(), which applies to new connections and leaves open ones alone.
 */
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Server } from 'node:https';
import { ConfigError } from '../config/config.js';

export interface TlsFiles {
  cert: string;
  key: string;
  clientCA?: string;
}

export interface HttpsOptions extends SecureContextOptions {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/** `where`: the configuration key the files come from, for the error. */
export function readTls(files: TlsFiles, where = 'http.tls'): HttpsOptions {
  const opts: HttpsOptions = {};
  try {
    opts.cert = readFileSync(files.cert);
    opts.key = readFileSync(files.key);
    if (files.clientCA) {
      opts.ca = readFileSync(files.clientCA);
      opts.requestCert = true;
      opts.rejectUnauthorized = true;
    }
    createSecureContext(opts); // a key that does not match its certificate fails here, at start-up
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
  return opts;
}

/** Polls the files; calls `log` with what happened. Returns a stop function. */
export function watchTls(server: Server, files: TlsFiles, log: { info(o: object, m: string): void; warn(o: object, m: string): void }, everyMs = 2000): () => void {
  const stamp = () =>
    [files.cert, files.key, files.clientCA]
      .filter((f): f is string => f !== undefined)
      .map((f) => {
        try {
          const s = statSync(f);
          return `${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  let seen = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === seen) return;
    try {
      server.setSecureContext(readTls(files));
      seen = now;
      log.info({ cert: files.cert }, 'TLS certificate reloaded');
    } catch (err) {
      // half-written files: try again at the next poll
      log.warn({ err: (err as Error).message }, 'TLS certificate not reloaded');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
