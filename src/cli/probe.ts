/**
 * `berth probe [--port 5000] [--path /livez]`: the container HEALTHCHECK. Asks the berth in this
 * container on loopback, over plain http, and over https when it serves TLS (its certificate names the
 * site, not 127.0.0.1, and the peer is this very container, so it is not checked). Exit 0 when healthy.
 */
import { Agent, request } from 'undici';

export async function probe(port: number, path: string): Promise<number> {
  for (const [scheme, dispatcher] of [['http', undefined], ['https', new Agent({ connect: { rejectUnauthorized: false } })]] as const) {
    try {
      const r = await request(`${scheme}://127.0.0.1:${port}${path}`, { dispatcher, headersTimeout: 3000, bodyTimeout: 3000 });
      await r.body.dump();
      if (r.statusCode === 200) return 0;
      if (r.statusCode !== 400) return 1; // 400: plain http sent to a TLS port on some stacks
    } catch {
      /* refused, or TLS spoken to plain http: try the other scheme */
    } finally {
      await dispatcher?.close();
    }
  }
  return 1;
}
