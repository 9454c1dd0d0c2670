/**
 * Robot accounts (API keys) for machines that are not people: `berth token create --name ci-team-b
 * --owner alice --scope 'team-b/**:pull,push' --expires 90d` prints a secret once. The secret is the
 * password of the user `robot$<name>` (Harbor's spelling, so operators know it) in `docker login`,
 * skopeo `--creds`, crane and containerd, through Basic and the token service alike.
 *
 * - A robot acts for its owner, narrowed to its scopes: what it may do is what the access policy lets
 *   the owner do AND what a scope grants. It dies with its owner (removed from htpasswd), at its
 *   expiry, or when revoked; a revocation is seen by the next request on any replica (records live
 *   in the index), and bearer tokens issued to it stop working then too (BearerGate asks).
 * - The secret is 32 random bytes, so a SHA-256 of it is stored (a slow password hash adds nothing
 *   to a secret nobody can guess, and would cost every request); it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { globToRegExp } from './policy.js';
import { RegistryError } from '../oci/errors.js';
import type { RepoAction } from './policy.js';

export const ROBOT_PREFIX = 'robot$';
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const SECRET_PREFIX = 'berth-robot.';

export type RobotAction = 'pull' | 'push' | 'delete';

export interface RobotScope {
  /** A repository glob, as accessControl's. */
  repositories: string;
  actions: RobotAction[];
}

export interface RobotRecord {
  name: string;
  owner: string;
  scopes: RobotScope[];
  /** SHA-256 (hex) of the secret. */
  secretHash: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

/**
 * Where robots are kept: the metadata index (LevelDB or PostgreSQL), so every replica sees them. The
 * last use is kept apart from the record, so noting a use never writes over a revocation.
 */
export interface RobotIndex {
  /** The record with its last use. */
  robot(name: string): Promise<RobotRecord | undefined>;
  listRobots(): Promise<RobotRecord[]>;
  /** Stores a new robot; false when one has that name already. */
  createRobot(record: RobotRecord): Promise<boolean>;
  /** Marks it revoked at `at` (kept when it was already); false when there is no such robot. */
  revokeRobot(name: string, at: number): Promise<boolean>;
  noteRobotUse(name: string, at: number): Promise<void>;
}

/** What a login may do beyond the policy's say: reads only, or a robot's scopes. */
export interface Narrowing {
  allows(repo: string, action: RepoAction): boolean;
}

export const PULL_ONLY: Narrowing = { allows: (_repo, action) => action === 'read' };

const ACTION_OF: Record<RobotAction, RepoAction[]> = { pull: ['read'], push: ['create', 'update'], delete: ['delete'] };

/** `team-b/**:pull,push` */
export function parseRobotScope(s: string): RobotScope {
  const i = s.lastIndexOf(':');
  const repositories = i > 0 ? s.slice(0, i) : '';
  const actions = (i > 0 ? s.slice(i + 1) : '').split(',').filter((a) => a !== '');
  if (!repositories || actions.length === 0 || actions.some((a) => !(a in ACTION_OF))) {
    throw new RegistryError('UNSUPPORTED', `scope ${JSON.stringify(s)}: expected REPOSITORY-GLOB:ACTIONS, actions among pull, push, delete`, { status: 400 });
  }
  return { repositories, actions: [...new Set(actions)] as RobotAction[] };
}

export function narrowingOf(record: RobotRecord): Narrowing {
  const compiled = record.scopes.map((s) => ({ re: globToRegExp(s.repositories), actions: new Set(s.actions.flatMap((a) => ACTION_OF[a])) }));
  return { allows: (repo, action) => compiled.some((c) => c.re.test(repo) && c.actions.has(action)) };
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export type RobotCheck = { ok: true; record: RobotRecord } | { ok: false; reason: string };

export class Robots {
  /** Last-use times are written at most this often per robot (not a write per request). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly index: RobotIndex,
    private readonly userExists: (user: string) => Promise<boolean>,
    private readonly touchEveryMs = 60_000,
  ) {}

  static isRobot(user: string | undefined): boolean {
    return user !== undefined && user.startsWith(ROBOT_PREFIX);
  }

  async create(opts: { name: string; owner: string; scopes: RobotScope[]; expiresInMs?: number }, now = Date.now()): Promise<{ record: RobotRecord; username: string; secret: string }> {
    if (!NAME.test(opts.name)) throw new RegistryError('UNSUPPORTED', `name ${JSON.stringify(opts.name)}: lowercase letters, digits, '.', '_' and '-', at most 63`, { status: 400 });
    if (opts.scopes.length === 0) throw new RegistryError('UNSUPPORTED', 'a robot needs at least one scope', { status: 400 });
    if (!(await this.userExists(opts.owner))) throw new RegistryError('UNSUPPORTED', `owner ${opts.owner} is not a user of this registry (htpasswd)`, { status: 400 });
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: RobotRecord = { name: opts.name, owner: opts.owner, scopes: opts.scopes, secretHash: hashOf(secret), createdAt: now };
    if (opts.expiresInMs !== undefined) record.expiresAt = now + opts.expiresInMs;
    if (!(await this.index.createRobot(record))) throw new RegistryError('UNSUPPORTED', `a robot named ${opts.name} exists (revoke it, or choose another name)`, { status: 409 });
    return { record, username: `${ROBOT_PREFIX}${opts.name}`, secret };
  }

  async list(): Promise<RobotRecord[]> {
    return this.index.listRobots();
  }

  async revoke(name: string, now = Date.now()): Promise<RobotRecord> {
    if (!(await this.index.revokeRobot(name, now))) throw new RegistryError('UNSUPPORTED', `no robot named ${name}`, { status: 404 });
    return (await this.index.robot(name))!;
  }

  /** The robot `user` (robot$<name>) with `secret`, if it may be used now. */
  async check(user: string, secret: string, now = Date.now()): Promise<RobotCheck> {
    const r = await this.index.robot(user.slice(ROBOT_PREFIX.length));
    if (!r) return { ok: false, reason: 'invalid username or password' };
    const want = Buffer.from(r.secretHash, 'hex');
    const got = Buffer.from(hashOf(secret), 'hex');
    if (!timingSafeEqual(want, got)) return { ok: false, reason: 'invalid username or password' };
    const usable = await this.usable(r, now);
    if (!usable.ok) return usable;
    await this.noteUse(r, now);
    return { ok: true, record: r };
  }

  /** The owner of the robot behind a token's subject while it may still act (revoked, expired, owner gone: undefined). */
  async ownerIfValid(user: string, now = Date.now()): Promise<string | undefined> {
    const r = await this.index.robot(user.slice(ROBOT_PREFIX.length));
    if (!r || !(await this.usable(r, now)).ok) return undefined;
    await this.noteUse(r, now);
    return r.owner;
  }

  private async usable(r: RobotRecord, now: number): Promise<RobotCheck> {
    if (r.revokedAt !== undefined) return { ok: false, reason: `robot ${r.name} was revoked` };
    if (r.expiresAt !== undefined && r.expiresAt <= now) return { ok: false, reason: `robot ${r.name} expired` };
    if (!(await this.userExists(r.owner))) return { ok: false, reason: `robot ${r.name}'s owner is no longer a user` };
    return { ok: true, record: r };
  }

  private async noteUse(r: RobotRecord, now: number): Promise<void> {
    const last = this.touched.get(r.name);
    if (last !== undefined && now - last < this.touchEveryMs) return;
    this.touched.set(r.name, now);
    await this.index.noteRobotUse(r.name, now);
  }
}
