/** A private CA and server certificates for 127.0.0.1, made with openssl (as ../shared/tools/RECIPES.md does). */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function makeCa(dir: string): { ca: string; key: string } {
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '2',
    '-subj', '/CN=berth-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  return { ca: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** A server certificate for 127.0.0.1 signed by the CA in `dir`; returns its files. */
export function makeServerCert(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  execFileSync('bash', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > ${join(dir, `${name}.ext`)}`]);
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-out', cert, '-days', '2', '-extfile', join(dir, `${name}.ext`)], { stdio: 'ignore' });
  return { cert, key };
}
