import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, parseConfig, parseListen } from '../../../src/config/config.js';

describe('config', () => {
  it('merges a YAML file over the defaults', () => {
    const c = parseConfig('storage:\n  root: /var/lib/berth\n', 'x.yaml');
    expect(c.storage.root).toBe('/var/lib/berth');
    expect(c.storage.fsync).toBe(true);
    expect(c.http.listen).toBe(DEFAULT_CONFIG.http.listen);
  });
  it('reads storage.retention.bundles', () => {
    const c = parseConfig('storage:\n  retention:\n    bundles: [{names: [edge-*], keepLastVersions: 2}]\n', 'x.yaml');
    expect(c.storage.retention?.bundles).toEqual([{ names: ['edge-*'], keepLastVersions: 2 }]);
  });
  it('reads JSON with the same schema', () => {
    expect(parseConfig('{"http":{"listen":"127.0.0.1:6000"}}', 'x.json').http.listen).toBe('127.0.0.1:6000');
  });
  it.each([
    ['storage:\n  rooot: /x\n', 'storage.rooot: unknown key'],
    ['storage:\n  fsync: "yes"\n', 'storage.fsync: must be a boolean'],
    ['log:\n  level: loud\n', 'log.level: must be one of'],
    ['- a\n', 'config: must be a map'],
    ['storage:\n  retention:\n    bundles: {keepLastVersions: 2}\n', 'storage.retention.bundles: must be a list'],
    ['mirror:\n  cache:\n    maxBytes: lots\n', 'mirror.cache.maxBytes: "lots" is not a size'],
    ['mirror:\n  cache:\n    maxBytes: 150%\n', 'mirror.cache.maxBytes: "150%": a share of the volume between 0 and 100%'],
    ['mirror:\n  cache:\n    minAge: soon\n', 'mirror.cache.minAge'],
    ['storage:\n  retention:\n    bundles: [{names: [edge-*]}]\n', 'storage.retention.bundles[0].keepLastVersions: must be a whole number of at least 1'],
    ['storage:\n  retention:\n    bundles: [{keepLastVersions: 0}]\n', 'storage.retention.bundles[0].keepLastVersions: must be a whole number'],
    ['storage:\n  retention:\n    bundles: [{keepLastVersions: 2, keep: 1}]\n', 'storage.retention.bundles[0].keep: unknown key'],
    ['storage:\n  retention:\n    bundles: [{keepLastVersions: 2, names: edge}]\n', 'storage.retention.bundles[0].names: must be a list of patterns'],
  ])('names the bad key of %j', (text, msg) => {
    expect(() => parseConfig(text, 'x.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'x.yaml')).toThrow(msg);
  });
  it('reads the auth section and checks accessControl key by key', () => {
    const c = parseConfig(
      'http:\n  auth:\n    htpasswd:\n      path: /etc/berth/htpasswd\naccessControl:\n  repositories:\n    "**":\n      anonymousPolicy: [read]\n',
      'x.yaml',
    );
    expect(c.http.auth?.htpasswd?.path).toBe('/etc/berth/htpasswd');
    expect(() => parseConfig('accessControl:\n  repositories:\n    "**":\n      anonymousPolicy: [pull]\n', 'x.yaml')).toThrow(
      'accessControl.repositories["**"].anonymousPolicy: unknown action pull',
    );
    expect(() => parseConfig('accessControl:\n  adminPolicy:\n    actions: [read]\n    roles: [x]\n', 'x.yaml')).toThrow('accessControl.adminPolicy.roles: unknown key');
  });

  it('reads the webhook section: off unless enabled, and then its certificate and berth\'s address are required', () => {
    expect(parseConfig('webhook: {rewrite: available}\n', 'x.yaml').webhook).toEqual({ rewrite: 'available' });
    const on = 'webhook: {enabled: true, tls: {cert: c.pem, key: k.pem}, registry: "10.0.0.1:30003", exclude: [gcr.io], optOutLabel: {key: a/b, value: off}}\n';
    expect(parseConfig(on, 'x.yaml').webhook?.exclude).toEqual(['gcr.io']);
    expect(() => parseConfig('webhook: {enabled: true, registry: "10.0.0.1:30003"}\n', 'x.yaml')).toThrow('webhook.tls: cert and key are required');
    expect(() => parseConfig('webhook: {enabled: true, tls: {cert: c, key: k}}\n', 'x.yaml')).toThrow('webhook.registry: required');
    expect(() => parseConfig('webhook: {rewrite: sometimes}\n', 'x.yaml')).toThrow('webhook.rewrite: must be one of always, available');
    expect(() => parseConfig('webhook: {enabled: true, tls: {cert: c, key: k}, registry: r, listen: "8443"}\n', 'x.yaml')).toThrow(ConfigError);
  });

  it('reads events.sinks and refuses a sink that would not work, naming its place', () => {
    const ok = 'events: {maxQueued: 10, sinks: [{name: ci, url: "https://ci.example/hook", headers: {X-Team: a}, tokenFile: /t, repositories: ["team/**"], types: [manifest.pushed, manifest.pulled], timeout: 5s}]}\n';
    expect(parseConfig(ok, 'x.yaml').events?.sinks?.[0]).toMatchObject({ name: 'ci', headers: { 'X-Team': 'a' }, types: ['manifest.pushed', 'manifest.pulled'] });
    const sink = (extra: string) => `events: {sinks: [{name: a, url: "http://s/e"${extra}}]}\n`;
    for (const [extra, message] of [
      [', types: [image.built]', 'events.sinks[0].types: "image.built" is not one of'],
      [', headers: {a: 1}', 'events.sinks[0].headers: must be a map of strings'],
      [', token: x, tokenFile: /t', 'events.sinks[0]: token or tokenFile, not both'],
      [', repositories: []', 'events.sinks[0]: an empty list'],
      [', timeout: soon', 'events.sinks[0].timeout: expected a duration'],
      [', retries: 3', 'events.sinks[0].retries: unknown key'],
    ] as const) {
      expect(() => parseConfig(sink(extra), 'x.yaml'), extra).toThrow(message);
    }
    expect(() => parseConfig('events: {sinks: [{name: a, url: "ftp://s/e"}]}\n', 'x.yaml')).toThrow('events.sinks[0].url: an http or https URL');
    expect(() => parseConfig('events: {sinks: [{name: "a b", url: "http://s"}]}\n', 'x.yaml')).toThrow('events.sinks[0].name: letters, digits');
    expect(() => parseConfig('events: {sinks: [{name: a, url: "http://s"}, {name: a, url: "http://t"}]}\n', 'x.yaml')).toThrow('events.sinks[1].name: a names two sinks');
    expect(() => parseConfig('events: {sinks: [{url: "http://s"}]}\n', 'x.yaml')).toThrow('events.sinks[0].name: required');
    expect(() => parseConfig('events: {maxQueued: 0}\n', 'x.yaml')).toThrow('events.maxQueued: a whole number of at least 1');
  });

  it('parses listen addresses', () => {
    expect(parseListen('0.0.0.0:5000')).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(parseListen('[::1]:5001')).toEqual({ host: '::1', port: 5001 });
    expect(parseListen(':5002')).toEqual({ host: '0.0.0.0', port: 5002 });
    expect(() => parseListen('5000')).toThrow(ConfigError);
    expect(() => parseListen('a:70000')).toThrow(ConfigError);
  });
});

describe('BERTH_* environment overrides', () => {
  it('override the file, keep types, and name an unknown key', () => {
    const c = parseConfig('http:\n  listen: 0.0.0.0:5000\nstorage:\n  fsync: true\n', 'f', {
      BERTH_HTTP_LISTEN: '127.0.0.1:6000',
      BERTH_HTTP_EXTERNALURL: 'https://reg.example',
      BERTH_STORAGE_FSYNC: 'false',
      BERTH_STORAGE_GC_INTERVAL: '2h',
      BERTH_STORAGE_UPLOADTTL: '90',
      BERTH_MIRROR_UPSTREAMS: '[{host: quay.io, url: "https://quay.io"}]',
      BERTH_SUMMARY_FILE: '/tmp/not-config', // no such section: not berth's configuration
      REGISTRY_AUTH_FILE: '/run/containers/auth.json', // podman's: never read
    });
    expect(c.http.listen).toBe('127.0.0.1:6000');
    expect(c.http.externalUrl).toBe('https://reg.example');
    expect(c.storage.fsync).toBe(false);
    expect(c.storage.gc.interval).toBe('2h');
    expect(c.storage.gc.enabled).toBe(true);
    expect(c.storage.uploadTTL).toBe(90);
    expect(c.mirror?.upstreams).toEqual([{ host: 'quay.io', url: 'https://quay.io' }]);
    expect(() => parseConfig('', 'f', { BERTH_STORAGE_FSYNK: 'true' })).toThrow('BERTH_STORAGE_FSYNK: unknown key storage.fsynk');
    expect(() => parseConfig('', 'f', { BERTH_STORAGE_FSYNC: 'maybe' })).toThrow('storage.fsync: must be a boolean');
  });
});
