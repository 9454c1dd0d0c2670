/**
 * Which object-store failures mean "the store cannot answer now" (503, the request may be retried)
 * rather than a fault in berth (500): no connection, a timeout, or the server's own 5xx (S3's
 * SlowDown and ServiceUnavailable among them).
 */
import { NETWORK_ERROR_CODES, RegistryError } from '../../oci/errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export function isUnavailable(err: unknown): boolean {
  const e = err as SdkError | undefined;
  if (!e) return false;
  const status = e.$metadata?.httpStatusCode;
  return (
    NETWORK_ERROR_CODES.has(e.code ?? '') ||
    e.name === 'TimeoutError' ||
    e.name === 'RequestTimeout' ||
    (status !== undefined && status >= 500) ||
    /socket hang up|ECONNREFUSED|ECONNRESET|connect ETIMEDOUT/.test(e.message ?? '')
  );
}

/** A RegistryError UNAVAILABLE for a store that cannot answer; any other error unchanged. */
export function unavailable(err: unknown, where: string): unknown {
  if (err instanceof RegistryError || !isUnavailable(err)) return err;
  // an error answer to a HEAD has no body to name it (the SDK says UnknownError): its status does
  const status = (err as SdkError).$metadata?.httpStatusCode;
  const what = `${(err as Error).message || (err as Error).name}${status ? ` (HTTP ${status})` : ''}`;
  return new RegistryError('UNAVAILABLE', `object store unavailable (S3 at ${where}): ${what}`);
}
