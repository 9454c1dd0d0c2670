/**
 * Robot accounts and imported bundles' records in LevelDB (keys.ts: `Y`/`y`, `K`): small records read
 * and written whole, each change one at a time per record, synced through LevelIndex's commit.
 */
import type { Level } from 'level';
import type { RobotRecord } from '../auth/robots.js';
import { bundleOrder, type BundleRecord } from '../bundles/records.js';
import { KeyedMutex } from '../registry/locks.js';
import { END, keys } from './keys.js';
import { TEXT, json, type Op } from './level-values.js';


/** What LevelIndex lends: its short scans (they take turns), its synced commit, its reads. */
export interface LevelAccess {
  scan<T>(open: () => { nextv(size: number): Promise<T[]>; close(): Promise<void> }): Promise<T[]>;
  commit(ops: Op[]): Promise<void>;
  getText(key: string): Promise<string | undefined>;
}

export class LevelRecords {
  /** One change at a time to a robot's record (create, revoke: read then write). */
  private readonly robotLock = new KeyedMutex();
  /** Likewise for a bundle's record (a second import keeps the first one's time). */
  private readonly bundleLock = new KeyedMutex();

  constructor(
    private readonly db: Level<string, Buffer>,
    private readonly at: LevelAccess,
  ) {}

  private async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.at.getText(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }

  private values(prefix: string): Promise<string[]> {
    return this.at.scan(() => this.db.values<string, string>({ gte: prefix, lt: prefix + END, ...TEXT }));
  }

  async robot(name: string): Promise<RobotRecord | undefined> {
    const r = await this.getJson<RobotRecord>(keys.robot(name));
    return r && this.withUse(r);
  }

  async listRobots(): Promise<RobotRecord[]> {
    return Promise.all((await this.values(keys.robotPrefix())).map((v) => this.withUse(JSON.parse(v) as RobotRecord)));
  }

  /** Synced: a robot's secret is handed out once, and must work after a crash. */
  async createRobot(record: RobotRecord): Promise<boolean> {
    return this.robotLock.run(record.name, async () => {
      if (await this.at.getText(keys.robot(record.name))) return false;
      await this.at.commit([{ type: 'put', key: keys.robot(record.name), value: json(record) }]);
      return true;
    });
  }

  async revokeRobot(name: string, at: number): Promise<boolean> {
    return this.robotLock.run(name, async () => {
      const r = await this.getJson<RobotRecord>(keys.robot(name));
      if (!r) return false;
      if (r.revokedAt === undefined) await this.at.commit([{ type: 'put', key: keys.robot(name), value: json({ ...r, revokedAt: at }) }]);
      return true;
    });
  }

  /** Not synced, apart from the record: a use noted late never writes over a revocation. */
  async noteRobotUse(name: string, at: number): Promise<void> {
    await this.db.put(keys.robotUse(name), Buffer.from(String(at)), { sync: false });
  }

  private async withUse(r: RobotRecord): Promise<RobotRecord> {
    const used = await this.at.getText(keys.robotUse(r.name));
    return used === undefined ? r : { ...r, lastUsedAt: Number(used) };
  }

  /** Synced like a manifest: the record says which tags a removal may take. */
  async putBundle(record: BundleRecord): Promise<void> {
    await this.bundleLock.run(`${record.name}\0${record.version}`, async () => {
      const key = keys.bundle(record.name, record.version);
      const before = await this.getJson<BundleRecord>(key);
      await this.at.commit([{ type: 'put', key, value: json(before ? { ...record, importedAt: before.importedAt } : record) }]);
    });
  }

  async listBundles(): Promise<BundleRecord[]> {
    return (await this.values(keys.bundlePrefix())).map((v) => JSON.parse(v) as BundleRecord).sort(bundleOrder);
  }

  async deleteBundle(name: string, version: string): Promise<boolean> {
    return this.bundleLock.run(`${name}\0${version}`, async () => {
      const key = keys.bundle(name, version);
      if ((await this.at.getText(key)) === undefined) return false;
      await this.at.commit([{ type: 'del', key }]);
      return true;
    });
  }
}
