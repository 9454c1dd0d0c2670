/** Opening a data root from the command line while no berth serves it (the index's lock says if one does). */
import { openRegistry, type OpenRegistry } from '../open.js';
import { ConfigError, parseListen, type BerthConfig } from '../config/config.js';
import { Agent, type Dispatcher, type request } from 'undici';
import { readServing } from './serving.js';
import { openOptions } from './open-options.js';

/** The opened root, or undefined when a running berth holds it. */
export async function openStopped(config: BerthConfig): Promise<OpenRegistry | undefined> {
  try {
    return await openRegistry(openOptions(config, false));
  } catch (err) {
    if (/lock/i.test(String((err as { cause?: unknown }).cause ?? err))) return undefined;
    throw err;
  }
}

/**
 * The running berth on this host, as the command line reaches it: where it wrote in its root that it
 * listens (serving.ts), else loopback at the configured port; over https when it serves TLS (its
 * certificate names the site's addresses, not 127.0.0.1, and the peer is this very host, so the
 * certificate is not checked).
 */
export function localServer(config: BerthConfig): { base: string; dispatcher: Dispatcher | undefined } {
  const serving = readServing(config.storage.root);
  const base = serving?.url ?? `${config.http.tls ? 'https' : 'http'}://127.0.0.1:${parseListen(config.http.listen).port}`;
  if (!base.startsWith('https:')) return { base, dispatcher: undefined };
  return { base, dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) };
}

/** The running berth's answer to the command line: its body, or its error envelope's message as a ConfigError. */
export async function answer(r: Awaited<ReturnType<typeof request>>): Promise<string> {
  const text = await r.body.text();
  if (r.statusCode >= 300) {
    let message = text;
    try {
      message = (JSON.parse(text) as { errors: { message: string }[] }).errors[0]!.message;
    } catch {
      /* not the error envelope */
    }
    throw new ConfigError(`the running berth refused: ${message}`);
  }
  return text;
}
