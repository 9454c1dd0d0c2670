/**
 * What test/global/engines.ts hands every test file: each shared engine's address, or why it could
 * not start (then the tests that need it fail with that reason, which names the install command).
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL admin URL. */
    postgres: { url: string } | { error: string };
    /** The run's S3 endpoint (its bucket is S3_BUCKET in ceph.ts). */
    s3: { endpoint: string } | { error: string };
  }
}

export function provided<K extends 'postgres' | 's3'>(engine: K): Exclude<ReturnType<typeof inject<K>>, { error: string }> {
  const p = inject(engine);
  if ('error' in p) throw new Error(p.error);
  return p as Exclude<typeof p, { error: string }>;
}
