/**
 * A real HTTP event sink on 127.0.0.1: it records every POST (the CloudEvent it carried and its
 * headers) and answers 204, or `status` when a test sets it. It can go down (refusing connections)
 * and come back on the same port, as a sink that restarts does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { freePort } from './ports.js';

export interface Received {
  event: Record<string, unknown> & { id: string; type: string; subject: string; data: Record<string, unknown> };
  headers: IncomingHttpHeaders;
}

export interface EventSink {
  url: string;
  received: Received[];
  /** The status each POST is answered with (204 unless set). */
  status: number;
  /** Stops listening and cuts open connections: berth's POSTs are refused. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Waits until `done(received)` holds; throws with what arrived after `ms`. */
  waitFor(done: (received: Received[]) => boolean, ms: number): Promise<void>;
}

/** `tls`: PEM files of the sink's certificate and key (https), else plain http. */
export async function startEventSink(tls?: { cert: string; key: string }): Promise<EventSink> {
  const port = await freePort();
  let server: Server | undefined;
  const sink: EventSink = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/events`,
    received: [],
    status: 204,
    async up() {
      const handle = (req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (sink.status >= 200 && sink.status < 300) {
            sink.received.push({ event: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
          }
          res.writeHead(sink.status).end();
        });
      };
      server = tls ? createTlsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handle) : createServer(handle);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', resolve);
      });
    },
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async waitFor(done, ms) {
      const deadline = Date.now() + ms;
      while (!done(sink.received)) {
        if (Date.now() > deadline) throw new Error(`the sink did not get what was expected in ${ms} ms; it got:\n${sink.received.map((r) => `${r.event.id} ${r.event.type} ${r.event.subject}`).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  await sink.up();
  return sink;
}
