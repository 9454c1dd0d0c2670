/**
 * The optional native addon (src/native/sendfile.c, built into dist/native/ by npm run build).
 * Absent (no compiler at build time, not Linux), `native` is undefined and berth does without:
 * downloads (and an object store's answers) copy through user space, malloc keeps its free pages, LevelDB maps its tables.
 */
import { createRequire } from 'node:module';

export interface NativeAddon {
  /** A duplicate of a socket's descriptor, so Node closing its own cannot hand the number to another connection mid-call. */
  hold(fd: number): number;
  release(fd: number): void;
  /** Sends up to `count` bytes of `inFd` from `offset` to the non-blocking socket `outFd`; resolves how many went before its buffer filled. */
  send(outFd: number, inFd: number, offset: number, count: number): Promise<number>;
  /**
   * Moves `count` bytes from the socket `inFd` to the socket `outFd` with splice(2) on a thread of its
   * own; resolves `count`, or rejects (with `errno` and the bytes `moved`) when either side fails, the
   * input ends early, the output takes nothing for `outIdleMs` or the input sends nothing for `inIdleMs`.
   */
  splice(outFd: number, inFd: number, count: number, outIdleMs: number, inIdleMs: number): Promise<number>;
  /** shutdown(2) both ways: a transfer on the socket fails at once. */
  shutdown(fd: number): void;
  /** malloc_trim(0): free pages inside malloc's arenas go back to the system (src/cli/memory.ts). */
  trim(): boolean;
  /** Makes the LevelDB inside the loaded addon at `path` read tables with pread() instead of mmap() (src/index/level-tables.ts). */
  unmappedTables(path: string): boolean;
}

function load(): NativeAddon | undefined {
  try {
    // the same file from src/native (tests) and dist/native (the build)
    return createRequire(import.meta.url)('../../dist/native/sendfile.node') as NativeAddon;
  } catch {
    return undefined;
  }
}

export const native: NativeAddon | undefined = load();
