/**
 * A free TCP port on 127.0.0.1. A module of its own: helpers that need only a port (the engines)
 * must not load undici from node_modules, which changes what the global fetch accepts.
 */
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}
