/** Real client tools for tests. A missing tool fails the test with a clear message; it never skips. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** ../shared/tools beside the checkout (CI clones main with shared/ beside it). */
export const SHARED_TOOLS = fileURLToPath(new URL('../../../shared/tools/', import.meta.url));

export function requireTool(path: string, hint: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
  return path;
}

export async function which(cmd: string, hint: string): Promise<string> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).stdout.trim();
  } catch {
    throw new Error(`${cmd} is not installed: ${hint}`);
  }
}

export async function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/**
 * crane, built from Debian's sources by ../shared/tools/build-crane.sh: CRANE_BIN, else
 * .tools/crane in the checkout (where .ci/run builds it), else PATH.
 */
export async function crane(): Promise<string> {
  const candidates = [process.env.CRANE_BIN, fileURLToPath(new URL('../../.tools/crane', import.meta.url))];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return which('crane', 'build it with `bash ../shared/tools/build-crane.sh .tools/crane` (.ci/run does)');
}

/**
 * podman's and buildah's private configuration under `dir` (root, vfs storage: no overlay as root in
 * a sandbox; an empty auth file; `insecure` registries when given): the environment to run them with.
 */
export async function containersEnv(dir: string, insecure: string[] = []): Promise<NodeJS.ProcessEnv> {
  await writeFile(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${dir}/run"\ngraphroot = "${dir}/graph"\n`);
  await writeFile(join(dir, 'auth.json'), '{"auths":{}}');
  const env: NodeJS.ProcessEnv = { CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'), REGISTRY_AUTH_FILE: join(dir, 'auth.json') };
  if (insecure.length) {
    await writeFile(join(dir, 'registries.conf'), insecure.map((h) => `[[registry]]\nlocation = "${h}"\ninsecure = true\n`).join(''));
    env.CONTAINERS_REGISTRIES_CONF = join(dir, 'registries.conf');
  }
  return env;
}
