/**
 * HTTP/1.1 written and read by hand over one socket, for what fetch hides: a client that reads slowly
 * or leaves midway, and several answers on one kept-alive connection.
 */
import { connect } from 'node:net';

/** A GET line and headers; `close` asks the server to end the connection after it. */
export const getRequest = (path: string, close = false, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${close ? 'Connection: close\r\n' : ''}${extra}\r\n`;

/**
 * Writes `requests` at once and resolves every byte the server sent until it ended the connection.
 * `pauseEvery`: stop reading for `pauseMs` after that many bytes; `leaveAfter`: close after that many.
 */
export function exchange(port: number, requests: string, opts: { pauseEvery?: number; pauseMs?: number; leaveAfter?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    const parts: Buffer[] = [];
    let got = 0;
    let sincePause = 0;
    sock.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      sincePause += d.length;
      if (opts.leaveAfter !== undefined && got >= opts.leaveAfter) {
        sock.destroy();
        resolve(Buffer.concat(parts));
        return;
      }
      if (opts.pauseEvery && sincePause >= opts.pauseEvery) {
        sincePause = 0;
        sock.pause();
        setTimeout(() => sock.resume(), opts.pauseMs ?? 20);
      }
    });
    sock.on('end', () => resolve(Buffer.concat(parts)));
    sock.on('error', reject);
    sock.write(requests);
  });
}

/** An answer's head, and everything after it. */
export function splitHead(response: Buffer): { head: string; body: Buffer } {
  const i = response.indexOf('\r\n\r\n');
  return { head: response.subarray(0, i).toString('latin1'), body: response.subarray(i + 4) };
}
