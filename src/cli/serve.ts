/** `berth serve`: opens the registry, listens, and shuts down gracefully on SIGTERM/SIGINT. */
import { buildApp } from '../http/app.js';
import { openRegistry } from '../open.js';
import { parseListen, type BerthConfig } from '../config/config.js';
import type { AuthDeps } from '../http/authorize.js';
import { Authenticator } from '../auth/authenticator.js';
import { Htpasswd } from '../auth/htpasswd.js';
import { AccessPolicy } from '../auth/policy.js';
import { AUTHENTICATED_ONLY, validateAccessControl } from '../auth/config.js';

/** Auth is wholly on when an htpasswd file is configured, and wholly off otherwise. */
export function authFrom(config: BerthConfig): AuthDeps | undefined {
  const path = config.http.auth?.htpasswd?.path;
  if (!path) return undefined;
  const access = config.accessControl ? validateAccessControl(config.accessControl) : AUTHENTICATED_ONLY;
  return { authenticator: new Authenticator(new Htpasswd(path), config.http.auth?.realm ?? 'berth'), policy: new AccessPolicy(access) };
}

export async function serve(config: BerthConfig): Promise<void> {
  const { host, port } = parseListen(config.http.listen);
  const opened = await openRegistry({
    root: config.storage.root,
    fsync: config.storage.fsync,
    registry: { deleteEnabled: config.storage.delete.enabled },
  });
  const app = await buildApp({
    registry: opened.registry,
    auth: authFrom(config),
    externalUrl: config.http.externalUrl,
    logger: { level: config.log.level },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal: exit at once
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await opened.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await app.listen({ host, port });
  app.log.info({ root: config.storage.root, listen: config.http.listen }, 'berth is serving');
}
