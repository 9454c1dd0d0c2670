/**
 * `berth webhook-cert --service S --namespace N --out DIR`: the image-redirect webhook's TLS. The API
 * server calls a webhook over HTTPS only, at `<service>.<namespace>.svc`, and trusts the certificate
 * through the MutatingWebhookConfiguration's caBundle. This writes a CA (ca.crt; its key is not kept:
 * renewing makes a new pair and a new caBundle) and a serving certificate for the Service's names
 * (tls.crt, tls.key, ECDSA P-256), and prints the caBundle to paste. cert-manager can do the same
 * (deploy/kubernetes/webhook/README.md).
 */
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata API
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { ConfigError } from '../config/config.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** A DNS label (RFC 1123), as Kubernetes names Services and namespaces. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function pem(kind: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${kind}-----\n${b64.endsWith('\n') ? b64 : `${b64}\n`}-----END ${kind}-----\n`;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

export interface WebhookCertOptions {
  service: string;
  namespace: string;
  out: string;
  days: number;
}

/** Writes ca.crt, tls.crt and tls.key into `out`; returns the caBundle (base64 of ca.crt) and the names. */
export async function webhookCert(o: WebhookCertOptions): Promise<{ caBundle: string; names: string[] }> {
  if (!LABEL.test(o.service)) throw new ConfigError(`--service: not a Service name: ${o.service}`);
  if (!LABEL.test(o.namespace)) throw new ConfigError(`--namespace: not a namespace name: ${o.namespace}`);
  if (!Number.isInteger(o.days) || o.days < 1) throw new ConfigError(`--days: a whole number of days, got ${o.days}`);
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = new Date(Date.now() - 5 * 60_000); // some clock skew between here and the API server
  const until = new Date(now.getTime() + o.days * DAY);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${o.service}.${o.namespace} webhook CA`,
    notBefore: now,
    notAfter: until,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const names = [o.service, `${o.service}.${o.namespace}`, `${o.service}.${o.namespace}.svc`, `${o.service}.${o.namespace}.svc.cluster.local`];
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[2]}`,
    issuer: ca.subject,
    notBefore: now,
    notAfter: until,
    signingKey: caKeys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const lines = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  await mkdir(o.out, { recursive: true });
  const caPem = lines(ca.toString('pem'));
  await writeFile(join(o.out, 'ca.crt'), caPem);
  await writeFile(join(o.out, 'tls.crt'), lines(cert.toString('pem')));
  await writeFile(join(o.out, 'tls.key'), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
  return { caBundle: Buffer.from(caPem).toString('base64'), names };
}
