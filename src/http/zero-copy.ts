/**
 * Zero-copy downloads through the optional native addon's sendfile(2) and splice(2) (src/native/addon.ts).
 * Without the addon, `sendfile` is undefined and downloads copy through user space.
 */
import type { Socket } from 'node:net';
import { native, type NativeAddon } from '../native/addon.js';

export type SendFile = Pick<NativeAddon, 'hold' | 'release' | 'send'>;
export type Splice = Pick<NativeAddon, 'hold' | 'release' | 'splice' | 'shutdown'>;

export const sendfile: (SendFile & Splice) | undefined = native;

/** Blob bytes this process sent each way (the tests tell the ways apart with it). */
export const sent = { zeroCopy: 0, spliced: 0, copied: 0 };

/** The descriptor of a plain TCP socket (not TLS: there the bytes must pass through OpenSSL). */
export function socketFd(socket: Socket | null): number | undefined {
  if (!socket || (socket as { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
