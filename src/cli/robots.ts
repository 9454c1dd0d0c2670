/**
 * `berth token create|list|revoke`: robot accounts. On a running registry the command asks it through
 * its loopback-only /_berth/robots (the server holds the index); on a stopped one it opens the root.
 * A new robot's secret is printed once, on standard output; nothing else ever shows it.
 */
import { request } from 'undici';
import { answer, localServer, openStopped } from './stopped.js';
import { ConfigError, durationMs, type BerthConfig } from '../config/config.js';
import { Robots, parseRobotScope } from '../auth/robots.js';
import { Htpasswd } from '../auth/htpasswd.js';
import { publicRobot } from '../http/routes/robots.js';
import { RegistryError } from '../oci/errors.js';

export interface CreateOptions {
  name: string;
  owner: string;
  scopes: string[];
  expires?: string;
}

type Call = { method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown };

/** The running server's answer, or, with the root stopped, the same answer computed here. */
async function run(config: BerthConfig, call: Call, local: (robots: Robots) => Promise<unknown>): Promise<unknown> {
  const htpasswd = config.http.auth?.htpasswd?.path;
  if (!htpasswd) throw new ConfigError('robot accounts need authentication: http.auth.htpasswd.path (give the config berth runs with)');
  const opened = await openStopped(config);
  if (opened) {
    try {
      const users = new Htpasswd(htpasswd);
      return await local(new Robots(opened.index, (u) => users.has(u)));
    } catch (err) {
      if (err instanceof RegistryError) throw new ConfigError(err.message);
      throw err;
    } finally {
      await opened.close();
    }
  }
  const { base, dispatcher } = localServer(config);
  let r;
  try {
    r = await request(`${base}${call.path}`, {
      method: call.method,
      dispatcher,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body), headers: { 'content-type': 'application/json' } } : {}),
    });
  } catch (err) {
    throw new ConfigError(`${config.storage.root} is in use, but no berth answers on ${base} (give the config it runs with): ${(err as Error).message}`);
  }
  const text = await answer(r);
  return JSON.parse(text) as unknown;
}

export async function createRobot(config: BerthConfig, o: CreateOptions): Promise<void> {
  if (o.expires !== undefined) durationMs(o.expires); // a bad duration is said before anything is made
  const out = await run(config, { method: 'POST', path: '/_berth/robots', body: { name: o.name, owner: o.owner, scopes: o.scopes, ...(o.expires ? { expires: o.expires } : {}) } }, async (robots) => {
    const made = await robots.create({ name: o.name, owner: o.owner, scopes: o.scopes.map(parseRobotScope), ...(o.expires ? { expiresInMs: durationMs(o.expires) } : {}) });
    return { username: made.username, secret: made.secret, robot: publicRobot(made.record) };
  });
  const { username, secret } = out as { username: string; secret: string };
  process.stdout.write(`username: ${username}\nsecret:   ${secret}\n`);
  process.stderr.write('The secret is shown this once: store it now (it is kept only as a hash).\n');
}

export async function listRobots(config: BerthConfig): Promise<void> {
  const out = await run(config, { method: 'GET', path: '/_berth/robots' }, async (robots) => ({ robots: (await robots.list()).map(publicRobot) }));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

export async function revokeRobot(config: BerthConfig, name: string): Promise<void> {
  const out = await run(config, { method: 'DELETE', path: `/_berth/robots/${encodeURIComponent(name)}` }, async (robots) => ({ robot: publicRobot(await robots.revoke(name)) }));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
