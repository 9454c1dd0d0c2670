/**
 * Which PostgreSQL failures mean "the database cannot answer now" (503, the request may be retried)
 * rather than a fault in berth (500): the connection could not be made, broke, or timed out, or the
 * server is shutting down, starting, or out of connections.
 */
import { NETWORK_ERROR_CODES, RegistryError } from '../oci/errors.js';

/**
 * SQLSTATEs (PostgreSQL appendix A): class 08 connection exceptions; 57P01-57P03 admin or crash
 * shutdown and "cannot connect now" (starting up); 53300 too many connections; 55P03 a lock wait
 * past lock_timeout (another replica holds it too long).
 */
const SERVER_GONE = /^(08...|57P0[123]|53300|55P03)$/;

/** pg's own messages for a connection that ended or timed out (they carry no code). */
const PG_CLIENT = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated unexpectedly|not queryable/i;

export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  return NETWORK_ERROR_CODES.has(code) || SERVER_GONE.test(code) || PG_CLIENT.test(String(e?.message ?? ''));
}

/** A RegistryError UNAVAILABLE for a database that cannot answer; any other error unchanged. */
export function unavailable(err: unknown, where: string): unknown {
  if (err instanceof RegistryError || !isUnavailable(err)) return err;
  return new RegistryError('UNAVAILABLE', `metadata database unavailable (PostgreSQL at ${where}): ${(err as Error).message}`);
}

/** The server a URL names, without its password: for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured URL (not a valid URL)';
  }
}

export function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.message} (${e.code})` : String(e.message ?? err);
}
