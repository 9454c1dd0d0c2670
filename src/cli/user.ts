/** `berth user add NAME [--password-stdin]` and `berth user delete NAME`: edit the htpasswd file safely. */
import { Htpasswd, isValidUserName } from '../auth/htpasswd.js';
import { ConfigError, type BerthConfig } from '../config/config.js';

function htpasswdOf(config: BerthConfig, file?: string): Htpasswd {
  const path = file ?? config.http.auth?.htpasswd?.path;
  if (!path) throw new ConfigError('no htpasswd file: set http.auth.htpasswd.path in the config, or pass --file');
  return new Htpasswd(path);
}

async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (password === '') throw new ConfigError('empty password on standard input');
  return password;
}

export async function userAdd(config: BerthConfig, name: string, file?: string): Promise<void> {
  if (!isValidUserName(name)) throw new ConfigError(`invalid user name: ${name}`);
  await htpasswdOf(config, file).set(name, await readPassword());
  process.stdout.write(`user ${name} saved\n`);
}

export async function userDelete(config: BerthConfig, name: string, file?: string): Promise<void> {
  if (!(await htpasswdOf(config, file).delete(name))) throw new ConfigError(`no such user: ${name}`);
  process.stdout.write(`user ${name} deleted\n`);
}
