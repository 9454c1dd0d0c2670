/**
 * deploy/ (issue 8): the Kubernetes manifests agree with each other and with berth's configuration
 * schema: ports, paths, probe URLs, the Secrets' file names, the node port, the containerd hosts.toml.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseListen, durationMs } from '../../../src/config/config.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));

/** The parts of the Kubernetes objects this test reads. */
interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
}
type Labels = Record<string, string>;
interface Probe {
  httpGet: { path: string; port: string; scheme: string };
}
interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  volumeMounts: { name: string; mountPath: string; subPath?: string }[];
  resources: { requests: { cpu?: string; memory?: string } };
  securityContext: { allowPrivilegeEscalation?: boolean };
  livenessProbe: Probe;
  readinessProbe: Probe;
  startupProbe: Probe;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
}
interface StatefulSet {
  spec: {
    selector: { matchLabels: Labels };
    volumeClaimTemplates: { metadata: { name: string } }[];
    template: {
      metadata: { labels: Labels };
      spec: { containers: Container[]; volumes: Volume[]; securityContext: { runAsNonRoot?: boolean }; terminationGracePeriodSeconds: number };
    };
  };
}
interface Service {
  spec: { type: string; selector: Labels; ports: { nodePort: number; targetPort: string }[] };
}
interface ConfigMap {
  data: Record<string, string>;
}
interface Secret {
  type?: string;
  stringData: Record<string, string>;
}

/** Every YAML document of the files directly in `dir`. */
function objectsIn(dir: string): Obj[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Obj))
    .filter(Boolean);
}

const objects: Obj[] = objectsIn(join(DEPLOY, 'kubernetes'));
function one<T>(kind: string, name?: string): Obj & T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]! as Obj & T;
}

describe('deploy/kubernetes', () => {
  const configMap = one<ConfigMap>('ConfigMap');
  const text = configMap.data['berth.yaml']!;
  const config = parseConfig(text, 'configmap');
  const sts = one<StatefulSet>('StatefulSet');
  const pod = sts.spec.template.spec;
  const container = pod.containers[0]!;
  const mounts = container.volumeMounts;
  const volume = (name: string) => pod.volumes.find((v) => v.name === name);
  /** The volume mounted at the directory holding `path`, and the file name within it. */
  const mountOf = (path: string) => {
    const m = mounts.find((x) => path === x.mountPath || path.startsWith(`${x.mountPath}/`));
    expect(m, `nothing is mounted for ${path}`).toBeDefined();
    return { mount: m!, file: path === m!.mountPath ? (m!.subPath ?? '') : path.slice(m!.mountPath.length + 1) };
  };

  it('keeps everything in one namespace that exists', () => {
    const ns = one('Namespace').metadata.name;
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(ns);
  });

  it('carries the same configuration as deploy/berth.yaml, valid against the schema', () => {
    expect(text.trim()).toBe(readFileSync(join(DEPLOY, 'berth.yaml'), 'utf8').trim());
    expect(config.storage.root).toBe('/var/lib/berth');
  });

  it('mounts the config where the args say, the data volume at storage.root, Secrets under the configured names', () => {
    const args = container.args;
    const cfgPath = args[args.indexOf('--config') + 1]!;
    const c = mountOf(cfgPath);
    expect(volume(c.mount.name)!.configMap!.name).toBe(configMap.metadata.name);
    expect(c.file).toBe('berth.yaml');
    expect(mountOf(config.storage.root).mount.name).toBe(sts.spec.volumeClaimTemplates[0]!.metadata.name);
    const h = mountOf(config.http.auth!.htpasswd!.path);
    const htSecret = one<Secret>('Secret', volume(h.mount.name)!.secret!.secretName);
    expect(Object.keys(htSecret.stringData)).toContain(h.file);
    const [user, hash] = htSecret.stringData[h.file]!.trim().split(':');
    expect(user).toBe('admin');
    expect(bcrypt.compareSync('change-me', hash!)).toBe(true); // the documented placeholder
    expect(config.accessControl!.adminPolicy!.users).toContain(user);
    for (const file of [config.http.tls!.cert, config.http.tls!.key]) {
      const t = mountOf(file);
      const tlsSecret = one<Secret>('Secret', volume(t.mount.name)!.secret!.secretName);
      expect(tlsSecret.type).toBe('kubernetes.io/tls');
      expect(Object.keys(tlsSecret.stringData)).toContain(t.file);
    }
  });

  it('exposes the listen port as NodePort 30003 and probes /livez, /readyz, /startupz on it', () => {
    const port = container.ports[0]!;
    expect(port.containerPort).toBe(parseListen(config.http.listen).port);
    const svc = one<Service>('Service');
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports[0]!.nodePort).toBe(30003);
    expect(svc.spec.ports[0]!.targetPort).toBe(port.name);
    expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    const scheme = config.http.tls ? 'HTTPS' : 'HTTP';
    for (const [probe, path] of [['livenessProbe', '/livez'], ['readinessProbe', '/readyz'], ['startupProbe', '/startupz']] as const) {
      expect(container[probe].httpGet, probe).toEqual({ path, port: port.name, scheme });
    }
  });

  it('runs unprivileged with requests, and gives uploads their shutdown time', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(durationMs(config.http.shutdownTimeout ?? '60s'));
  });

  it('ships a containerd hosts.toml that pulls through the node port', () => {
    const toml = readFileSync(join(DEPLOY, 'containerd', 'hosts.toml'), 'utf8');
    expect(toml).toMatch(/\[host\."https:\/\/[^"]+:30003"\]/);
    expect(toml).toContain('capabilities = ["pull", "resolve"]');
  });
});

interface Deployment {
  spec: {
    replicas: number;
    selector: { matchLabels: Labels };
    template: {
      metadata: { labels: Labels };
      spec: StatefulSet['spec']['template']['spec'] & {
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Labels } } }[] } };
        volumes: (Volume & { emptyDir?: object })[];
      };
    };
  };
}
interface EnvVar {
  name: string;
  valueFrom: { secretKeyRef: { name: string; key: string } };
}
interface Pdb {
  spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Labels } };
}

describe('deploy/kubernetes/scale-out', () => {
  const own = objectsIn(join(DEPLOY, 'kubernetes', 'scale-out'));
  // the Namespace, the Service and the htpasswd and TLS Secrets are the single node's, shared
  const all = [...own, ...objects.filter((o) => ['Namespace', 'Service', 'Secret'].includes(o.kind))];
  const find = <T>(kind: string, name?: string): Obj & T => {
    const found = all.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
    expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
    return found[0]! as Obj & T;
  };
  const dep = find<Deployment>('Deployment');
  const pod = dep.spec.template.spec;
  const container = pod.containers[0]! as Container & { env: EnvVar[] };
  const cm = find<ConfigMap>('ConfigMap', pod.volumes.find((v) => v.configMap)!.configMap!.name);
  const env = Object.fromEntries(container.env.map((e) => [e.name, 'from-secret']));
  const config = parseConfig(cm.data['berth.yaml']!, 'scale-out configmap', env);

  it('runs several replicas over S3 and PostgreSQL, its credentials from a Secret that has them', () => {
    expect(dep.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(config.storage.driver).toBe('s3');
    expect(config.metadata.driver).toBe('postgres');
    expect(config.metadata.postgres?.url).toBe('from-secret'); // the environment supplies it
    expect(Object.keys(env).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'BERTH_METADATA_POSTGRES_URL']);
    for (const e of container.env) {
      const secret = find<Secret>('Secret', e.valueFrom.secretKeyRef.name);
      expect(Object.keys(secret.stringData), e.name).toContain(e.valueFrom.secretKeyRef.key);
    }
    for (const o of own) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(find('Namespace').metadata.name);
  });

  it('is served by the single node’s NodePort Service, spreads over nodes, and is disrupted one replica at a time', () => {
    const svc = find<Service>('Service');
    expect(svc.spec.ports[0]!.nodePort).toBe(30003);
    expect(svc.spec.ports[0]!.targetPort).toBe(container.ports[0]!.name);
    expect(container.ports[0]!.containerPort).toBe(parseListen(config.http.listen).port);
    expect(dep.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(dep.spec.template.metadata.labels).toMatchObject(dep.spec.selector.matchLabels);
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]!.podAffinityTerm;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(dep.spec.template.metadata.labels).toMatchObject(term.labelSelector.matchLabels);
    const pdb = find<Pdb>('PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(dep.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it('mounts the config, the login and TLS Secrets as the single node does, and only scratch at storage.root', () => {
    const mounts = container.volumeMounts;
    const mountOf = (path: string) => mounts.find((x) => path === x.mountPath || path.startsWith(`${x.mountPath}/`))!;
    const volume = (name: string) => pod.volumes.find((v) => v.name === name)! as Volume & { emptyDir?: object };
    const cfg = mountOf(container.args[container.args.indexOf('--config') + 1]!);
    expect(volume(cfg.name).configMap!.name).toBe(cm.metadata.name);
    expect(volume(mountOf(config.storage.root).name).emptyDir).toBeDefined();
    expect(find<Secret>('Secret', volume(mountOf(config.http.auth!.htpasswd!.path).name).secret!.secretName).stringData).toHaveProperty('htpasswd');
    expect(find<Secret>('Secret', volume(mountOf(config.http.tls!.cert).name).secret!.secretName).type).toBe('kubernetes.io/tls');
    for (const [probe, path] of [['livenessProbe', '/livez'], ['readinessProbe', '/readyz'], ['startupProbe', '/startupz']] as const) {
      expect(container[probe].httpGet, probe).toEqual({ path, port: container.ports[0]!.name, scheme: 'HTTPS' });
    }
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(durationMs(config.http.shutdownTimeout ?? '60s'));
  });
});

interface DaemonSet {
  spec: {
    template: {
      spec: {
        tolerations: { operator: string }[];
        containers: (Container & { env: { name: string; valueFrom: { fieldRef: { fieldPath: string } } }[] })[];
        volumes: { name: string; hostPath: { path: string } }[];
      };
    };
  };
}

describe('deploy/kubernetes/node-config', () => {
  const own = objectsIn(join(DEPLOY, 'kubernetes', 'node-config'));
  const ds = own.find((o) => o.kind === 'DaemonSet') as (Obj & DaemonSet) | undefined;

  it("runs berth mirror-config --watch on every node against the node port, writing the host's certs.d", () => {
    expect(ds).toBeDefined();
    expect(ds!.metadata.namespace).toBe(one('Namespace').metadata.name);
    const pod = ds!.spec.template.spec;
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const c = pod.containers[0]!;
    const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    expect(c.args[0]).toBe('mirror-config');
    expect(c.args).toContain('--watch');
    const nodePort = one<Service>('Service').spec.ports[0]!.nodePort;
    expect(arg('--registry')).toBe(`$(NODE_IP):${nodePort}`);
    expect(c.env.find((e) => e.name === 'NODE_IP')?.valueFrom.fieldRef.fieldPath).toBe('status.hostIP');
    expect(durationMs(arg('--interval')!)).toBeGreaterThan(0);
    const out = arg('--output')!;
    const m = c.volumeMounts.find((v) => v.mountPath === out);
    expect(m, `nothing is mounted at ${out}`).toBeDefined();
    expect(pod.volumes.find((v) => v.name === m!.name)?.hostPath.path).toBe('/etc/containerd/certs.d');
    // berth serves https on the node port: the watcher verifies it with the CA at the path the
    // hosts.toml files name, the node's own file mounted at that same path
    expect(parseConfig(one<ConfigMap>('ConfigMap').data['berth.yaml']!, 'configmap').http.tls).toBeDefined();
    const ca = arg('--ca')!;
    const caMount = c.volumeMounts.find((v) => v.mountPath === ca);
    expect(caMount, `nothing is mounted at ${ca}`).toBeDefined();
    expect(pod.volumes.find((v) => v.name === caMount!.name)?.hostPath.path).toBe(ca);
  });
});

interface Mwc {
  webhooks: {
    failurePolicy: string;
    sideEffects: string;
    admissionReviewVersions: string[];
    timeoutSeconds: number;
    clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
    rules: { operations: string[]; resources: string[] }[];
    namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
    objectSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  }[];
}

/** A section shipped commented out (`# key:` and the `#   ` lines under it), uncommented. */
function commentedSection(text: string, key: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`# ${key}:`);
  if (start < 0) throw new Error(`no commented ${key} section`);
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('#   ')) end++;
  return lines.slice(start, end).map((l) => l.slice(2)).join('\n');
}

describe('deploy/berth.yaml, commented sections', () => {
  it('ships an event sink that, uncommented, is a valid configuration', () => {
    const text = readFileSync(join(DEPLOY, 'berth.yaml'), 'utf8');
    const events = parseConfig(commentedSection(text, 'events'), 'the commented events section').events!;
    expect(events.sinks?.[0]).toMatchObject({ name: 'ci', url: 'https://ci.example/hooks/berth' });
  });
});

describe('deploy/kubernetes/webhook', () => {
  const own = objectsIn(join(DEPLOY, 'kubernetes', 'webhook'));
  const mwc = own.find((o) => o.kind === 'MutatingWebhookConfiguration') as (Obj & Mwc) | undefined;
  const svc = own.find((o) => o.kind === 'Service') as (Obj & Service & { spec: { ports: { port: number; targetPort: string }[] } }) | undefined;
  const sts = one<StatefulSet>('StatefulSet');
  const container = sts.spec.template.spec.containers[0]!;
  // the ConfigMap's webhook section, commented out as shipped: uncommented, it must be valid
  const text = one<ConfigMap>('ConfigMap').data['berth.yaml']!;
  const webhook = parseConfig(commentedSection(text, 'webhook'), 'the commented webhook section').webhook!;

  it('calls the Service that reaches the webhook listener, at /mutate-pods, never blocking a pod', async () => {
    const { DEFAULT_OPT_OUT } = await import('../../../src/webhook/server.js');
    expect(webhook.enabled).toBe(true);
    const hook = mwc!.webhooks[0]!;
    expect(hook.failurePolicy).toBe('Ignore');
    expect(hook.sideEffects).toBe('None');
    expect(hook.admissionReviewVersions).toEqual(['v1']);
    expect(hook.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(hook.rules[0]).toMatchObject({ operations: ['CREATE'], resources: ['pods'] });
    expect(hook.clientConfig.service).toEqual({ name: svc!.metadata.name, namespace: svc!.metadata.namespace, path: '/mutate-pods', port: svc!.spec.ports[0]!.port });
    expect(svc!.spec.selector).toEqual(sts.spec.selector.matchLabels);
    const port = container.ports.find((p) => p.name === svc!.spec.ports[0]!.targetPort);
    expect(port?.containerPort).toBe(parseListen(webhook.listen!).port);
    const ns = one('Namespace').metadata.name;
    const names = hook.namespaceSelector.matchExpressions.find((e) => e.key === 'kubernetes.io/metadata.name');
    expect(names).toMatchObject({ operator: 'NotIn' });
    expect(names!.values).toEqual(expect.arrayContaining(['kube-system', ns]));
    for (const sel of [hook.namespaceSelector, hook.objectSelector]) {
      expect(sel.matchExpressions).toContainEqual({ key: DEFAULT_OPT_OUT.key, operator: 'NotIn', values: [DEFAULT_OPT_OUT.value] });
    }
  });

  it("mounts the webhook's certificate Secret where the section names its files", () => {
    for (const file of [webhook.tls!.cert, webhook.tls!.key]) {
      const m = container.volumeMounts.find((v) => file.startsWith(`${v.mountPath}/`));
      expect(m, `nothing is mounted for ${file}`).toBeDefined();
      const v = sts.spec.template.spec.volumes.find((x) => x.name === m!.name) as Volume & { secret: { secretName: string; optional?: boolean } };
      expect(v.secret.secretName).toBe('berth-webhook-tls');
      expect(v.secret.optional).toBe(true); // the webhook is off by default: no Secret needed
      expect(['tls.crt', 'tls.key']).toContain(file.slice(m!.mountPath.length + 1));
    }
  });
});

describe('deploy/kubernetes/node-config: the kubelet credential provider', () => {
  const dir = join(DEPLOY, 'kubernetes', 'node-config');
  const kubelet = parseAllDocuments(readFileSync(join(dir, 'kubelet-credential-provider.yaml'), 'utf8'))[0]!.toJS() as {
    apiVersion: string;
    kind: string;
    providers: { name: string; apiVersion: string; matchImages: string[]; defaultCacheDuration: string; args: string[] }[];
  };
  const plugin = parseAllDocuments(readFileSync(join(dir, 'credential-provider.yaml'), 'utf8'))[0]!.toJS() as { registries: string[]; mirrored: string[]; cacheDuration: string; mint?: { url: string } };

  it("runs berth credential-provider with its file, for berth's address and the hosts it mirrors", () => {
    expect(kubelet).toMatchObject({ apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig' });
    const p = kubelet.providers[0]!;
    expect(p.apiVersion).toBe('credentialprovider.kubelet.k8s.io/v1');
    expect(p.args.slice(0, 2)).toEqual(['credential-provider', '--config']);
    expect(p.args[2]).toBe('/etc/berth/credential-provider.yaml');
    for (const h of [...plugin.registries, ...plugin.mirrored]) expect(p.matchImages, h).toContain(h);
    expect(plugin.registries[0]).toMatch(/:30003$/);
    expect(durationMs(plugin.cacheDuration)).toBeGreaterThan(0);
    // minted pull credentials come from berth at the address the nodes pull from
    expect(new URL(plugin.mint!.url).host).toBe(plugin.registries[0]);
  });
});
