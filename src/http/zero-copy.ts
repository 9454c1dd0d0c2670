/**
 * The optional sendfile(2) addon (src/native/sendfile.c, built into dist/native/ by npm run build).
 * Absent (no compiler at build time, not Linux), `sendfile` is undefined and downloads copy through
 * user space.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

export interface SendFile {
  /** A duplicate of a socket's descriptor, so Node closing its own cannot hand the number to another connection mid-call. */
  hold(fd: number): number;
  release(fd: number): void;
  /** Sends up to `count` bytes of `inFd` from `offset` to the non-blocking socket `outFd`; resolves how many went before its buffer filled. */
  send(outFd: number, inFd: number, offset: number, count: number): Promise<number>;
  /** malloc_trim(0): free pages inside malloc's arenas go back to the system (src/cli/memory.ts). */
  trim(): boolean;
}

function load(): SendFile | undefined {
  try {
    // the same file from src/http (tests) and dist/http (the build)
    return createRequire(import.meta.url)('../../dist/native/sendfile.node') as SendFile;
  } catch {
    return undefined;
  }
}

export const sendfile: SendFile | undefined = load();

/** Blob bytes this process sent each way (the tests tell the ways apart with it). */
export const sent = { zeroCopy: 0, copied: 0 };

/** The descriptor of a plain TCP socket (not TLS: there the bytes must pass through OpenSSL). */
export function socketFd(socket: Socket | null): number | undefined {
  if (!socket || (socket as { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
