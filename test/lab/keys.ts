/**
 * Keys the lab needs, made once and kept in the state dir: DKIM keys (with
 * opendkim-genkey, as a sender would) and a lab CA with one server certificate
 * for IMAPS and the MTA-STS policy hosts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mtaStsPolicies, type DkimKeys } from './zones.ts';
import { lab, sender } from './plan.ts';

export interface LabKeys extends DkimKeys {
  dkimPrivateKey: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** The p= value from an opendkim-genkey .txt file: the quoted strings joined. */
function publicKeyOf(txtFile: string): string {
  const strings = [...readFileSync(txtFile, 'utf8').matchAll(/"([^"]*)"/g)].map((match) => match[1]).join('');
  const key = /p=([A-Za-z0-9+/=]+)/.exec(strings)?.[1];
  if (!key) throw new Error(`no p= in ${txtFile}`);
  return key;
}

function dkimKey(dir: string, bits: number): { privateKey: string; publicKey: string } {
  const selector = `rsa${bits}`;
  const privateFile = join(dir, `${selector}.private`);
  if (!existsSync(privateFile)) {
    execFileSync('opendkim-genkey', ['-b', String(bits), '-d', sender.domain, '-s', selector, '-D', dir], { stdio: 'pipe' });
  }
  return { privateKey: privateFile, publicKey: publicKeyOf(join(dir, `${selector}.txt`)) };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function certificates(dir: string): { caCert: string; serverCert: string; serverKey: string } {
  const caCert = join(dir, 'ca.pem');
  const serverCert = join(dir, 'server.pem');
  const serverKey = join(dir, 'server.key');
  if (!existsSync(caCert)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=Mailscope Lab CA'], dir);
  }
  if (!existsSync(serverCert)) {
    const names = [lab.imap.hostname, ...Object.keys(mtaStsPolicies())];
    writeFileSync(
      join(dir, 'server.ext'),
      `subjectAltName=${[...names.map((name) => `DNS:${name}`), 'IP:127.0.0.1', `IP:${lab.mtaSts.address}`].join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=lab.test'], dir);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '825', '-extfile', 'server.ext'], dir);
  }
  return { caCert, serverCert, serverKey };
}

export function labKeys(): LabKeys {
  const dir = join(lab.stateDir, 'keys');
  mkdirSync(dir, { recursive: true });
  const strong = dkimKey(dir, 2048);
  const weak = dkimKey(dir, 1024);
  return { rsa2048: strong.publicKey, rsa1024: weak.publicKey, dkimPrivateKey: strong.privateKey, ...certificates(dir) };
}
