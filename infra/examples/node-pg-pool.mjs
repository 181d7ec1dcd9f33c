// A node-postgres Pool whose every new connection logs in with a pgmint lease.
// node-pg lets `password` be a function but not `user`, and each pgmint lease
// is its own user, so the Pool gets a Client subclass that fetches (or reuses,
// until refresh_at) a credential before connecting, with the TLS its sslmode
// asks for. Open connections are not affected when a credential expires:
// they keep running until the pool closes them (set the pool's connection
// lifetime below the role's max_session, 8 h by default).
//
//   PGMINT_URL=https://pgmint.internal PGMINT_DATABASE=orders \
//   PGMINT_TOKEN_FILE=/var/run/secrets/db-token/token node app.mjs
import { readFile } from 'node:fs/promises';
import pg from 'pg';

const broker = process.env.PGMINT_URL;
const database = process.env.PGMINT_DATABASE;
const tokenFile = process.env.PGMINT_TOKEN_FILE ?? '/var/run/secrets/db-token/token';

let current = null;
let pending = null;

/** The current credential, fetched again once its refresh_at has passed. */
export async function credentials() {
  if (current && Date.now() < Date.parse(current.refresh_at)) return current;
  pending ??= (async () => {
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const res = await fetch(`${broker}/api/v1/databases/${database}/credentials/k8s`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      throw new Error(`pgmint refused: ${res.status} ${problem.code ?? ''}`);
    }
    return (current = await res.json());
  })().finally(() => {
    pending = null;
  });
  return pending;
}

/**
 * TLS settings for a credential's sslmode, as libpq reads it. The caller's
 * `ssl` object adds to them (a CA, a client certificate) but cannot turn TLS
 * off where the credential asks for it, nor verification off for verify-*.
 * node-pg cannot fall back to plaintext, so `prefer` uses TLS only when the
 * caller configured it.
 */
export function sslFor(sslmode, callerSsl) {
  const extra = typeof callerSsl === 'object' && callerSsl !== null ? callerSsl : {};
  switch (sslmode) {
    case 'disable':
    case 'allow':
      return false;
    case 'prefer':
      return callerSsl ?? false;
    case 'verify-ca':
      return { ...extra, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...extra, rejectUnauthorized: true };
    default: // require, and anything unknown: encrypted, verified only if the caller asks
      return { rejectUnauthorized: false, ...extra };
  }
}

export class PgmintClient extends pg.Client {
  constructor(config) {
    super(config);
    this.callerSsl = config?.ssl;
  }

  connect(callback) {
    const connecting = credentials().then((c) => {
      // The connection object was built with the caller's options; TLS follows the credential.
      this.connectionParameters.ssl = this.ssl = this.connection.ssl = sslFor(c.sslmode, this.callerSsl);
      this.connectionParameters.user = this.user = c.user;
      this.connectionParameters.password = this.password = c.password;
      this.connectionParameters.host = this.host = c.host;
      this.connectionParameters.port = this.port = c.port;
      this.connectionParameters.database = this.database = c.database;
      return super.connect();
    });
    if (!callback) return connecting;
    connecting.then(() => callback(null, this), callback);
  }
}

export function createPool(options = {}) {
  return new pg.Pool({ ...options, Client: PgmintClient });
}
