/** Low-level HTTP for what fetch cannot do: chunked bodies, aborted bodies, raw paths. */
import http from 'node:http';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends a body as `Transfer-Encoding: chunked` (no Content-Length), as podman and crane do. */
export function chunkedRequest(url: string, method: string, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    (async () => {
      for await (const c of chunks) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(reject);
  });
}

/**
 * Starts a request that declares `declared` bytes, sends `sent` of them, then drops the
 * connection: a client that goes away mid-upload.
 */
export async function abortedUpload(base: string, method: string, path: string, declared: number, sent: Buffer): Promise<void> {
  const u = new URL(base);
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
  await new Promise<void>((r) => sock.write(sent, () => r()));
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  await new Promise((r) => setTimeout(r, 200)); // let the server see the reset and clean up
}

/** Sends a request line exactly as given (no URL normalisation) and returns the status and body. */
export async function rawRequest(base: string, method: string, path: string): Promise<RawResponse> {
  const u = new URL(base);
  const sock = net.connect(Number(u.port), u.hostname);
  sock.write(`${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
  let data = '';
  sock.setEncoding('utf8');
  for await (const c of sock) data += c as string;
  const [head = '', body = ''] = data.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, headers: {}, body };
}
