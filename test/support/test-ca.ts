/**
 * A certificate authority made for one test with the openssl command line,
 * and a server certificate it signs for 127.0.0.1: what a cluster's API
 * server presents when its CA is the cluster's own.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  /** The CA certificate (what an operator passes as ca_pem). */
  caPem: string;
  /** The server's key and certificate for 127.0.0.1, signed by the CA. */
  key: string;
  cert: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'pgmint-ca-'));
  const at = (f: string) => join(dir, f);
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=pgmint test cluster CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', '-new', ...EC, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1']);
    await writeFile(
      at('ext.cnf'),
      'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at('server.crt'),
      '-days',
      '2',
      '-extfile',
      at('ext.cnf'),
    ]);
    const [caPem, key, cert] = await Promise.all(['ca.crt', 'server.key', 'server.crt'].map((f) => readFile(at(f), 'utf8')));
    return { caPem: caPem as string, key: key as string, cert: cert as string };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
