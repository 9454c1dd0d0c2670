/**
 * Users from an Apache htpasswd file with bcrypt hashes (`htpasswd -Bbn user pass`: `$2y$`, and
 * `$2a$`/`$2b$`). The file is re-read when it changes (checked at most once a second), and edited
 * safely: written to a temp file beside it, fsynced, renamed over it.
 */
import { open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';

const USER = /^[A-Za-z0-9._@-]{1,128}$/;
/** A hash verified when the user is unknown, so both cases cost one bcrypt comparison. */
const DUMMY = '$2b$10$fLlNVf/4IG3QsOL.JoJAc.3uYkX1zNwjTAm6WYyapZOYS.MxAlyqi';

export function isValidUserName(name: string): boolean {
  return USER.test(name);
}

function parse(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const hash = line.slice(i + 1).trim();
    if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) users.set(line.slice(0, i), hash);
  }
  return users;
}

/** bcryptjs reads `$2a$`/`$2b$`; `$2y$` (Apache's name for the fixed variant) is the same algorithm. */
function normalise(hash: string): string {
  return hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash;
}

export class Htpasswd {
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(readonly path: string) {}

  private async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const s = await stat(this.path);
    if (s.mtimeMs === this.mtimeMs) return;
    this.users = parse(await readFile(this.path, 'utf8'));
    this.mtimeMs = s.mtimeMs;
  }

  /** True when `password` is the user's; constant work whether or not the user exists. */
  async verify(user: string, password: string): Promise<boolean> {
    await this.refresh();
    const hash = this.users.get(user);
    const ok = await bcrypt.compare(password, normalise(hash ?? DUMMY));
    return ok && hash !== undefined;
  }

  async has(user: string): Promise<boolean> {
    await this.refresh();
    return this.users.has(user);
  }

  /** Adds or replaces a user (bcrypt, cost 10, written as `$2y$` like htpasswd -B). */
  async set(user: string, password: string): Promise<void> {
    if (!isValidUserName(user)) throw new Error(`invalid user name: ${user}`);
    const hash = (await bcrypt.hash(password, 10)).replace(/^\$2b\$/, '$2y$');
    await this.edit((lines) => [...lines.filter((l) => !l.startsWith(`${user}:`)), `${user}:${hash}`]);
  }

  /** Removes a user; false when there was none. */
  async delete(user: string): Promise<boolean> {
    let found = false;
    await this.edit((lines) =>
      lines.filter((l) => {
        const hit = l.startsWith(`${user}:`);
        found ||= hit;
        return !hit;
      }),
    );
    return found;
  }

  private async edit(change: (lines: string[]) => string[]): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const lines = change(text.split(/\r?\n/).filter((l) => l.trim() !== ''));
    const tmp = join(dirname(this.path), `.htpasswd-${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(lines.map((l) => `${l}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    this.checkedAt = 0;
    this.mtimeMs = -1;
  }
}
