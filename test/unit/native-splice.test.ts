/**
 * The addon's splice(): bytes from one socket to another through a pipe, on a thread of its own,
 * over real loopback sockets. A "store" server sends once it is asked (so Node has read nothing of
 * its answer when the splice starts), a "client" server collects what arrives.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/native/addon.js';

const MiB = 1024 * 1024;
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const servers: Server[] = [];
const sockets: Socket[] = [];

async function listen(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A socket Node does not read from (libuv stops reading at pause() with `onread`), and its descriptor. */
async function quietSocket(port: number): Promise<{ sock: Socket; fd: number }> {
  const sock = connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(1024), callback: () => false } });
  sockets.push(sock);
  await once(sock, 'connect');
  sock.pause();
  const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
  return { sock, fd };
}

/** A store that sends `body` (then ends, when `end`) once it receives a byte. */
function store(body: Buffer, end = false): Promise<number> {
  return listen((s) => {
    s.once('data', () => (end ? s.end(body) : s.write(body)));
    s.on('error', () => undefined);
  });
}

/** A client that collects what arrives, reading `pauseMs` late every MiB when asked. */
function sink(pauseMs = 0): { port: Promise<number>; got: () => Buffer } {
  const parts: Buffer[] = [];
  let since = 0;
  const port = listen((s) => {
    s.on('data', (d: Buffer) => {
      parts.push(d);
      since += d.length;
      if (pauseMs && since >= MiB) {
        since = 0;
        s.pause();
        setTimeout(() => s.resume(), pauseMs);
      }
    });
    s.on('error', () => undefined);
  });
  return { port, got: () => Buffer.concat(parts) };
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

describe('native splice', () => {
  it('is built (npm run build compiles it; it needs python3, make and g++)', () => {
    expect(native?.splice, 'apt-get install -y python3 make g++ && npm run build').toBeTypeOf('function');
  });

  it('moves every byte, in order, to a client that reads slowly', async () => {
    const body = randomBytes(24 * MiB + 12345);
    const out = sink(5);
    const from = await quietSocket(await store(body));
    const to = await quietSocket(await out.port);
    from.sock.write('go');
    expect(await native!.splice(to.fd, from.fd, body.length, 5000, 5000)).toBe(body.length);
    to.sock.destroy();
    await expect.poll(() => out.got().length).toBe(body.length);
    expect(hex(out.got())).toBe(hex(body));
  });

  it('moves only the count asked for, and a second call goes on from there', async () => {
    const body = randomBytes(3 * MiB);
    const out = sink();
    const from = await quietSocket(await store(body));
    const to = await quietSocket(await out.port);
    from.sock.write('go');
    expect(await native!.splice(to.fd, from.fd, MiB + 7, 5000, 5000)).toBe(MiB + 7);
    expect(await native!.splice(to.fd, from.fd, 2 * MiB - 7, 5000, 5000)).toBe(2 * MiB - 7);
    await expect.poll(() => out.got().length).toBe(body.length);
    expect(hex(out.got())).toBe(hex(body));
  });

  it('fails when the store ends early, saying how much it moved', async () => {
    const body = randomBytes(MiB);
    const out = sink();
    const from = await quietSocket(await store(body, true));
    const to = await quietSocket(await out.port);
    from.sock.write('go');
    const err = (await native!.splice(to.fd, from.fd, 2 * MiB, 5000, 5000).catch((e: unknown) => e)) as Error & { moved: number };
    expect(err.message).toMatch(/ended early/);
    expect(err.moved).toBe(MiB);
  });

  it("fails after the store's idle limit when it sends nothing, however long the client's", async () => {
    const out = sink();
    const from = await quietSocket(await listen(() => undefined));
    const to = await quietSocket(await out.port);
    const t = Date.now();
    const err = (await native!.splice(to.fd, from.fd, MiB, 60_000, 300).catch((e: unknown) => e)) as Error & { errno: number };
    expect(err.message).toMatch(/sent nothing/);
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it("fails after the client's idle limit when it takes nothing, however long the store's", async () => {
    const body = randomBytes(32 * MiB); // more than the client's socket, the pipe and the store's socket hold
    const from = await quietSocket(await store(body));
    const to = await quietSocket(await listen(() => undefined)); // never reads
    from.sock.write('go');
    const t = Date.now();
    const err = (await native!.splice(to.fd, from.fd, body.length, 300, 60_000).catch((e: unknown) => e)) as Error & { moved: number };
    expect(err.message).toMatch(/client took nothing/);
    expect(err.moved).toBeGreaterThan(0);
    expect(err.moved).toBeLessThan(body.length);
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it('stops at once when the client socket is shut down while it waits for the store', async () => {
    const out = sink();
    const from = await quietSocket(await listen(() => undefined));
    const to = await quietSocket(await out.port);
    const t = Date.now();
    const moving = native!.splice(to.fd, from.fd, MiB, 30_000, 30_000).catch((e: unknown) => e);
    setTimeout(() => native!.shutdown(to.fd), 100);
    const err = (await moving) as Error;
    expect(err.message).toMatch(/client left/);
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it('rejects bad arguments', () => {
    expect(() => native!.splice(-1, 0, 1, 100, 100)).toThrow(TypeError);
    expect(() => native!.splice(1, 0, 1, 0, 100)).toThrow(TypeError);
    expect(() => native!.splice(1, 0, 1, 100, 0)).toThrow(TypeError);
  });
});
