#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=15 --expose-gc
/**
 * The `berth` command line. The #! line carries berth's runtime settings, so run this file itself
 * (npm start, the Dockerfile and the benchmark do):
 * - 2 MiB semi-spaces for the young generation instead of V8's 16 MiB, and two malloc arenas:
 *   resident memory about 30 MiB lower. Against 4 MiB semi-spaces, 2 MiB peak 3-5 MiB lower while
 *   100,000 repositories are pushed, for 1.5% more instructions there (callgrind) and the same per
 *   cached manifest GET (116,900 and 116,700: the GET served before Fastify allocates little);
 * - the old generation grows by 15% before its next collection instead of V8's factor of 1.1-4 for
 *   small heaps: under 64 connections of manifest GETs the peak fell from 99 to 83 MiB, no slower;
 * - --expose-gc: uploads collect the young generation every 4 MiB the process receives (and the
 *   old one when promoted chunks pile up), which frees bodies' 64 KiB Buffers (src/storage/body-memory.ts);
 *   long work compacts the old generation every 10 s when it is fragmented (src/cli/memory.ts).
 */
import { Command } from 'commander';
import { ConfigError, EngineError, durationMs, loadConfig, type BerthConfig } from '../config/config.js';
import { byteSize } from '../config/units.js';
import type { ImportOptions } from '../bundles/importer.js';

// Each subcommand imports its own modules when it runs: `berth serve` never loads the HTTP client,
// the progress bars or the tar code of the others (every module loaded stays resident).

const program = new Command();
program.name('berth').description('A lightweight OCI registry for edge clusters');

/** A subcommand that works on a data root: --root and --config, read into one configuration. */
function onRoot(name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--root <dir>', 'data root (default ./storage)')
    .option('--config <file>', 'YAML or JSON configuration file');
}

/** --platform linux/amd64 --platform linux/arm64, or linux/amd64,linux/arm64 */
const platformList = (v: string, all: string[]) => [...all, ...v.split(',').map((p) => p.trim()).filter((p) => p !== '')];

async function configOf(opts: { root?: string; config?: string }): Promise<BerthConfig> {
  const config = await loadConfig(opts.config);
  if (opts.root) config.storage.root = opts.root;
  return config;
}

onRoot('serve', 'run the registry')
  .option('--listen <host:port>', 'address to listen on (default 0.0.0.0:5000)')
  .action(async (opts: { listen?: string; root?: string; config?: string }) => {
    const config = await configOf(opts);
    if (opts.listen) config.http.listen = opts.listen;
    await (await import('./serve.js')).serve(config);
  });

onRoot('gc', 'collect garbage once (a running registry is asked to, through its loopback endpoint)')
  .option('--dry-run', 'report what would go; delete nothing')
  .action(async (opts: { dryRun?: boolean; root?: string; config?: string }) => (await import('./gc.js')).gcOnce(await configOf(opts), !!opts.dryRun));

onRoot('verify', 're-hash every blob and manifest and check the index against the store (stopped registry)')
  .option('--repair', 'remove index entries whose content is gone or corrupt')
  .action(async (opts: { repair?: boolean; root?: string; config?: string }) => {
    process.exitCode = await (await import('./verify.js')).verifyOnce(await configOf(opts), !!opts.repair);
  });

onRoot('import', 'load a content bundle: an OCI layout (directory or tar, gzip or not) or a docker save archive')
  .argument('<file...>', "the bundle, or a split bundle's parts (in any order; parts already in are skipped)")
  .option('--prefix <prefix>', 'put every repository under this prefix (default for foreign names: mirror.prefix)')
  .option('--repository <name>', 'the repository for images the bundle names only by tag, or not at all')
  .option('--name <name>', "the bundle's name in berth bundles list (default: what the bundle says, else its file name)")
  .option('--version <version>', "the bundle's version (default: what the bundle says, else its digest's first 12 digits)")
  .option('--platform <os/arch>', "keep only these platforms' children of each index (repeat or comma-separate; default: what the bundle says)", platformList, [] as string[])
  .action(async (files: string[], opts: { prefix?: string; repository?: string; name?: string; version?: string; platform: string[]; root?: string; config?: string }) => {
    const o: ImportOptions = {};
    if (opts.prefix !== undefined) o.prefix = opts.prefix;
    if (opts.repository !== undefined) o.repository = opts.repository;
    if (opts.name !== undefined) o.name = opts.name;
    if (opts.version !== undefined) o.version = opts.version;
    if (opts.platform.length) o.platforms = opts.platform;
    await (await import('./bundles.js')).importBundle(await configOf(opts), files, o);
  });

onRoot('export', 'write images (repo:tag or repo@digest) as an OCI layout tar')
  .argument('<image...>', 'images to export')
  .requiredOption('-o, --output <file>', 'the tar to write')
  .option('--exclude-from <inventory>', "a delta bundle: leave out the blobs a site's inventory (berth inventory) lists")
  .option('--name <name>', "the bundle's name, recorded by the registries that import it")
  .option('--version <version>', "the bundle's version, likewise (retention keeps the last N versions of a name)")
  .option('--split <size>', 'write parts of at most this size (4G, 650M, ...) for removable media: <output>.part<i>of<n>')
  .option('--platform <os/arch>', "carry only these platforms' children of each index (repeat or comma-separate)", platformList, [] as string[])
  .action(async (images: string[], opts: { output: string; excludeFrom?: string; name?: string; version?: string; split?: string; platform: string[]; root?: string; config?: string }) =>
    (await import('./bundles.js')).exportBundle(await configOf(opts), images, opts.output, {
      ...(opts.excludeFrom !== undefined ? { excludeFrom: opts.excludeFrom } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.version !== undefined ? { version: opts.version } : {}),
      ...(opts.split !== undefined ? { split: byteSize(opts.split) } : {}),
      ...(opts.platform.length ? { platforms: opts.platform } : {}),
    }),
  );

const bundles = program.command('bundles').description('the bundles imported here: what each brought, and removing a version');
bundles
  .command('list')
  .description('every imported bundle: name, version, digest, first import time and the images it brought')
  .option('--root <dir>', 'data root (default ./storage)')
  .option('--config <file>', 'YAML or JSON configuration file')
  .action(async (opts: { root?: string; config?: string }) => (await import('./bundles.js')).listBundles(await configOf(opts)));
bundles
  .command('remove <bundle>')
  .description('NAME@VERSION: untag what only that version brought (garbage collection frees the bytes) and forget it')
  .option('--dry-run', 'say what would be untagged; change nothing')
  .option('--root <dir>', 'data root (default ./storage)')
  .option('--config <file>', 'YAML or JSON configuration file')
  .action(async (ref: string, opts: { dryRun?: boolean; root?: string; config?: string }) => (await import('./bundles.js')).removeBundle(await configOf(opts), ref, !!opts.dryRun));

onRoot('inventory', 'write what this registry holds (manifest and blob digests), for a delta bundle made elsewhere')
  .option('-o, --output <file>', 'the file to write (default: standard output)')
  .action(async (opts: { output?: string; root?: string; config?: string }) => (await import('./bundles.js')).inventory(await configOf(opts), opts.output));

program
  .command('config')
  .description('configuration tools')
  .command('check <file>')
  .description('validate a configuration file (and BERTH_* overrides) as start-up would')
  .action(async (file: string) => (await import('./config-check.js')).configCheck(file));

program
  .command('migrate')
  .description('copy a stopped registry (every blob, manifest, tag, link, referrer) to the engines of another configuration, verifying every digest; run again, it continues')
  .requiredOption('--from <file>', 'configuration of the registry to copy')
  .requiredOption('--to <file>', 'configuration of the target (S3, PostgreSQL, or another root)')
  .action(async (opts: { from: string; to: string }) => {
    process.exitCode = await (await import('./migrate.js')).migrate(opts.from, opts.to);
  });

program
  .command('probe')
  .description('health check of the berth on this host (the container HEALTHCHECK): exit 0 when /livez answers')
  .option('--port <port>', 'its port', '5000')
  .option('--path <path>', 'the probe', '/livez')
  .action(async (opts: { port: string; path: string }) => {
    process.exitCode = await (await import('./probe.js')).probe(Number(opts.port), opts.path);
  });

program
  .command('mirror-config')
  .description('write containerd hosts.toml files that make nodes pull through berth')
  .requiredOption('--registry <host:port>', "berth's address as nodes reach it (e.g. 10.0.0.5:30003)")
  .option('--upstream <host...>', 'upstream registries to mirror (docker.io, quay.io, ...)', [])
  .option('-o, --output <dir>', 'a certs.d directory', '/etc/containerd/certs.d')
  .option('--ca <file>', "path on the node of the CA that signed berth's certificate (implies https)")
  .option('--scheme <scheme>', 'http or https')
  .option('--skip-verify', 'do not verify berth\'s certificate')
  .option('--no-fallback', 'never go to the upstream itself (air-gapped sites)')
  .option('--watch', "keep the files in step with berth's own upstreams (asked every --interval) until stopped")
  .option('--interval <duration>', 'how often --watch asks berth', '30s')
  .action(async (opts: { registry: string; upstream: string[]; output: string; ca?: string; scheme?: string; skipVerify?: boolean; fallback: boolean; watch?: boolean; interval: string }) => {
    const m = await import('./mirror-config.js');
    const target = { registry: opts.registry, output: opts.output, ca: opts.ca, scheme: opts.scheme, skipVerify: opts.skipVerify, fallback: opts.fallback };
    if (opts.watch) {
      let intervalMs: number;
      try {
        intervalMs = durationMs(opts.interval);
      } catch (err) {
        throw new ConfigError(`--interval: ${(err as Error).message}`);
      }
      const stop = new AbortController();
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
      await m.watchMirrorConfig({ ...target, intervalMs, signal: stop.signal, say: (line) => process.stdout.write(`${line}\n`) });
      return;
    }
    const files = await m.writeMirrorConfig({ ...target, upstreams: opts.upstream });
    process.stdout.write(`${files.join('\n')}\n`);
  });

program
  .command('webhook-cert')
  .description("write the image-redirect webhook's CA and serving certificate for <service>.<namespace>.svc, and print the caBundle")
  .option('--service <name>', "the webhook's Service", 'berth-webhook')
  .option('--namespace <name>', "berth's namespace", 'berth')
  .option('-o, --out <dir>', 'where ca.crt, tls.crt and tls.key go', '.')
  .option('--days <n>', 'validity', '825')
  .action(async (opts: { service: string; namespace: string; out: string; days: string }) => {
    const { webhookCert } = await import('./webhook-cert.js');
    const r = await webhookCert({ service: opts.service, namespace: opts.namespace, out: opts.out, days: Number(opts.days) });
    process.stdout.write(
      [
        `wrote ca.crt, tls.crt and tls.key to ${opts.out}, for ${r.names.join(', ')}`,
        `kubectl -n ${opts.namespace} create secret tls berth-webhook-tls --cert=${opts.out}/tls.crt --key=${opts.out}/tls.key`,
        'caBundle (the MutatingWebhookConfiguration\'s clientConfig.caBundle):',
        r.caBundle,
        '',
      ].join('\n'),
    );
  });

program
  .command('credential-provider')
  .description('kubelet image credential provider (credentialprovider.kubelet.k8s.io/v1): a pull-only login for berth and the hosts it mirrors')
  .requiredOption('--config <file>', 'registries, mirrored, username, passwordFile, cacheDuration')
  .action(async (opts: { config: string }) => {
    process.exitCode = await (await import('./credential-provider.js')).credentialProvider(opts.config);
  });

const token = program.command('token').description('robot accounts (API keys) for CI jobs and other machines');
const collect = (v: string, all: string[]) => [...all, v];
token
  .command('create')
  .description("make a robot account and print its secret once (its username is robot$<name>)")
  .requiredOption('--name <name>', 'lowercase letters, digits, ".", "_" and "-"')
  .requiredOption('--owner <user>', "the htpasswd user it acts for: it can do at most what the owner's policy allows")
  .requiredOption('--scope <glob:actions>', "what it may do, e.g. 'team-b/**:pull,push' (repeat for more)", collect, [] as string[])
  .option('--expires <duration>', 'when it stops working, e.g. 90d (default: never)')
  .option('--root <dir>', 'data root (default ./storage)')
  .option('--config <file>', 'YAML or JSON configuration file')
  .action(async (opts: { name: string; owner: string; scope: string[]; expires?: string; root?: string; config?: string }) =>
    (await import('./robots.js')).createRobot(await configOf(opts), { name: opts.name, owner: opts.owner, scopes: opts.scope, ...(opts.expires ? { expires: opts.expires } : {}) }),
  );
token
  .command('list')
  .description('the robot accounts, with scopes, creation, expiry, last use and revocation times')
  .option('--root <dir>', 'data root (default ./storage)')
  .option('--config <file>', 'YAML or JSON configuration file')
  .action(async (opts: { root?: string; config?: string }) => (await import('./robots.js')).listRobots(await configOf(opts)));
token
  .command('revoke <name>')
  .description('revoke a robot account at once (its bearer tokens stop working too)')
  .option('--root <dir>', 'data root (default ./storage)')
  .option('--config <file>', 'YAML or JSON configuration file')
  .action(async (name: string, opts: { root?: string; config?: string }) => (await import('./robots.js')).revokeRobot(await configOf(opts), name));

const user = program.command('user').description('manage the users of the htpasswd file');
user
  .command('add <name>')
  .description('add a user or change a password (bcrypt); the password is read from standard input')
  .option('--password-stdin', 'read the password from standard input (the default)')
  .option('--config <file>', 'configuration naming http.auth.htpasswd.path')
  .option('--file <htpasswd>', 'the htpasswd file itself')
  .action(async (name: string, opts: { config?: string; file?: string }) => (await import('./user.js')).userAdd(await loadConfig(opts.config), name, opts.file));
user
  .command('delete <name>')
  .description('remove a user')
  .option('--config <file>', 'configuration naming http.auth.htpasswd.path')
  .option('--file <htpasswd>', 'the htpasswd file itself')
  .action(async (name: string, opts: { config?: string; file?: string }) => (await import('./user.js')).userDelete(await loadConfig(opts.config), name, opts.file));

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`berth: config: ${err.message}\n`);
    process.exit(2);
  }
  // a refusal the registry itself words (a bundle or inventory refused, an image not there): no stack
  if (err instanceof EngineError || (err as Error).name === 'RegistryError') {
    process.stderr.write(`berth: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stderr.write(`berth: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
