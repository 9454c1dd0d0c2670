/**
 * A TCP proxy in front of an upstream registry, to play the network between a mirror and its
 * upstream: `up` forwards (optionally throttled), `blackhole` accepts connections and never answers
 * (a dead route: the client can only time out), `refuse` closes them at once. It counts the HTTP
 * request lines it forwards, so a test can tell how often the upstream was asked for something.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'blackhole' | 'refuse';

export interface Proxy {
  url: string;
  mode: ProxyMode;
  /** Bytes per second from the upstream to the client; 0 = unlimited. */
  throttle: number;
  /** Request lines seen (`GET /v2/... HTTP/1.1`). */
  requests: string[];
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { url: '', mode: 'up', throttle: 0, requests: [], close: async () => undefined };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (proxy.mode === 'refuse') return void client.destroy();
    if (proxy.mode === 'blackhole') return void client.resume(); // read and never answer
    const up = connect(target.port, target.host);
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      client.destroy();
    });
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    client.on('data', (d: Buffer) => {
      // the mode applies to connections already open too: an outage cuts them off alike
      if (proxy.mode === 'refuse') return void client.destroy();
      if (proxy.mode === 'blackhole') return;
      for (const m of d.toString('latin1').matchAll(/(?:^|\r\n)((?:GET|HEAD|POST|PUT|PATCH|DELETE) \S+ HTTP\/1\.1)\r\n/g)) proxy.requests.push(m[1]!);
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (!client.write(d)) up.pause();
      if (proxy.throttle > 0) {
        up.pause();
        setTimeout(() => up.resume(), (d.length / proxy.throttle) * 1000);
      }
    });
    client.on('drain', () => up.resume());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  proxy.url = `http://127.0.0.1:${a.port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}
