import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../lib/crypto/encoding.js';
import { generatePassword } from '../../lib/crypto/password.js';
import { isScramVerifier, scramKeys, scramSha256Verifier } from '../../lib/crypto/scram.js';
import { ident, literal } from '../../lib/sql/quote.js';
import { nodeScramKeys } from '../../functions/runtime/node-scram.js';
import { createDatabase, loginAs, server, withSuperuser } from '../support/postgres.js';
import { randomName, rejectionCode } from '../sql/helpers.js';

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

describe('scramSha256Verifier()', () => {
  it('matches the RFC 7677 test vector (user "user", password "pencil")', async () => {
    const salt = fromBase64('W22ZaJ0SNY7soEsUEjb6gQ==');
    const verifier = await scramSha256Verifier('pencil', { salt, iterations: 4096 });
    const [, iter, saltB64, storedB64, serverB64] = VERIFIER.exec(verifier)!;
    expect(iter).toBe('4096');
    expect(saltB64).toBe('W22ZaJ0SNY7soEsUEjb6gQ==');
    const storedKey = Buffer.from(storedB64!, 'base64');
    const serverKey = Buffer.from(serverB64!, 'base64');

    // The exchange from RFC 7677 §3.
    const clientFirstBare = 'n=user,r=rOprNGfwEbeRWgbNEkqO';
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const clientFinalNoProof = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `${clientFirstBare},${serverFirst},${clientFinalNoProof}`;
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');

    // The server signature the RFC's server sends ("v=6rriTR…") comes from ServerKey.
    const serverSignature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
    expect(serverSignature).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // The RFC client's proof verifies against StoredKey: H(proof XOR HMAC(StoredKey, AuthMessage)) = StoredKey.
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]!));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('is deterministic for a given salt and iteration count, random otherwise', async () => {
    const salt = new Uint8Array(16).fill(7);
    const a = await scramSha256Verifier('pgm_x', { salt, iterations: 1000 });
    expect(await scramSha256Verifier('pgm_x', { salt, iterations: 1000 })).toBe(a);
    expect(a.startsWith(`SCRAM-SHA-256$1000:${toBase64(salt)}$`)).toBe(true);
    const b = await scramSha256Verifier('pgm_x');
    const c = await scramSha256Verifier('pgm_x');
    expect(b).not.toBe(c);
    expect(isScramVerifier(b)).toBe(true);
    expect(fromBase64(VERIFIER.exec(b)![2]!).length).toBe(16);
    expect(VERIFIER.exec(b)![1]).toBe('4096');
    const keys = await scramKeys('pgm_x', salt, 1000);
    expect(a.endsWith(`$${toBase64(keys.storedKey)}:${toBase64(keys.serverKey)}`)).toBe(true);
  });

  it('refuses an empty password, bad iteration counts and an empty salt', async () => {
    for (const call of [
      () => scramSha256Verifier(''),
      () => scramSha256Verifier('x', { iterations: 0 }),
      () => scramSha256Verifier('x', { iterations: 1.5 }),
      () => scramSha256Verifier('x', { salt: new Uint8Array(0) }),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(TypeError);
    }
    expect(isScramVerifier('md5abc')).toBe(false);
    expect(isScramVerifier('pgm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).toBe(false);
  });
});

describe.each(['pg18', 'pg15'] as const)('SCRAM verifiers against real Postgres (%s)', (which) => {
  const s = server(which);
  let db: string;
  beforeAll(async () => {
    db = await createDatabase(s, 'scram');
  });

  /** Postgres's own verifier for `password`, recomputed by us with its salt and iteration count. */
  async function compareWithPostgres(password: string): Promise<{ postgres: string; ours: string }> {
    return withSuperuser(s, db, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(`SET LOCAL password_encryption = 'scram-sha-256'`);
        const name = randomName('cmp');
        await c.query(`CREATE ROLE ${ident(name)} PASSWORD ${literal(password)}`);
        const { rows } = await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
        const postgres = rows[0].rolpassword as string;
        const [, iter, salt] = VERIFIER.exec(postgres)!;
        const ours = await scramSha256Verifier(password, { iterations: Number(iter), salt: fromBase64(salt!) });
        return { postgres, ours };
      } finally {
        await c.query('ROLLBACK');
      }
    });
  }

  it('equals the verifier Postgres computes itself, for any ASCII password', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 60 }), async (password) => {
        fc.pre(!password.includes('\0'));
        const { postgres, ours } = await compareWithPostgres(password);
        expect(ours).toBe(postgres);
      }),
      { numRuns: 40 },
    );
    const { postgres, ours } = await compareWithPostgres(generatePassword());
    expect(ours).toBe(postgres);
  });

  it('equals Postgres for non-ASCII passwords SASLprep leaves alone or rejects, and documents where it differs', async () => {
    // NFKC-stable text (SASLprep is the identity) and a code point unassigned in
    // Unicode 3.2 (SASLprep fails, Postgres falls back to the raw bytes).
    for (const password of ['pässwörd', 'пароль-密码', 'emoji-😀']) {
      const { postgres, ours } = await compareWithPostgres(password);
      expect(ours).toBe(postgres);
    }
    // SASLprep maps U+00A0 to a space and NFKC-folds the ligature; pgmint does not (see scram.ts).
    for (const password of ['a\u00a0b', 'ﬁsh']) {
      const { postgres, ours } = await compareWithPostgres(password);
      expect(ours).not.toBe(postgres);
    }
  });

  it('a role created with the verifier stores it verbatim and logs in with the plaintext', async () => {
    for (const opts of [{}, { iterations: 10_000 }, { salt: crypto.getRandomValues(new Uint8Array(8)) }]) {
      const name = randomName('scram');
      const password = generatePassword();
      const verifier = await scramSha256Verifier(password, opts);
      await withSuperuser(s, db, async (c) => {
        await c.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(verifier)}`);
        const { rows } = await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
        expect(rows).toEqual([{ rolpassword: verifier }]);
      });
      expect(await loginAs(s, db, name, password)).toBe(name);
      expect(await rejectionCode(loginAs(s, db, name, generatePassword()))).toBe('28P01');
      expect(await rejectionCode(loginAs(s, db, name, verifier))).toBe('28P01');
    }
  });
});

describe("Node's SCRAM key derivation (functions/runtime/node-scram.ts)", () => {
  it('gives the WebCrypto keys for any password, salt and iteration count', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.integer({ min: 1, max: 5000 }),
        async (password, salt, iterations) => {
          const [node, web] = await Promise.all([nodeScramKeys(password, salt, iterations), scramKeys(password, salt, iterations)]);
          expect(toBase64(node.storedKey)).toBe(toBase64(web.storedKey));
          expect(toBase64(node.serverKey)).toBe(toBase64(web.serverKey));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('matches the RFC 7677 verifier', async () => {
    const salt = fromBase64('W22ZaJ0SNY7soEsUEjb6gQ==');
    const web = await scramSha256Verifier('pencil', { salt, iterations: 4096 });
    expect(await scramSha256Verifier('pencil', { salt, iterations: 4096, derive: nodeScramKeys })).toBe(web);
  });
});
