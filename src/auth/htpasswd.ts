/**
 * Users from an Apache htpasswd file with bcrypt hashes (`htpasswd -Bbn user pass`: `$2y$`, and
 * `$2a$`/`$2b$`). The file is re-read when it changes (checked at most once a second), and edited
 * safely: written to a temp file beside it, fsynced, renamed over it.
 */
import { open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

const USER = /^[A-Za-z0-9._@-]{1,128}$/;
/**
 * A password that checked out is taken again for this long on a keyed hash (HMAC-SHA256 with a key
 * of this process) instead of bcrypt: clients in Basic mode send the password with every request,
 * and at cost 10 a bcrypt takes about 70 ms of CPU (13.7 GET /v2/ a second measured here, against
 * 3,200 for a robot account's secret). A changed password in the file, a removed user or a wrong
 * password still pays bcrypt.
 */
const VERIFIED_MS = 5 * 60_000;

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
  /** Per user: the hash the password was verified against, the password's HMAC, when. */
  private readonly verified = new Map<string, { hash: string; mac: Buffer; at: number }>();
  private readonly macKey = randomBytes(32);

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
    const mac = createHmac('sha256', this.macKey).update(password).digest();
    const seen = this.verified.get(user);
    const now = Date.now();
    if (hash !== undefined && seen && seen.hash === hash && now - seen.at < VERIFIED_MS && timingSafeEqual(seen.mac, mac)) return true;
    const ok = (await bcrypt.compare(password, normalise(hash ?? DUMMY))) && hash !== undefined;
    if (ok) this.verified.set(user, { hash: hash!, mac, at: now });
    return ok;
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
