/**
 * Sealing and unsealing a target's root credential: each version is sealed
 * with the seal key and bound to its database id, so a sealed value copied to
 * another database's row does not open.
 *
 * @example
 *   const sealed = await seal(sealKey, password, rootSecretAad('orders'));
 *   const password = await unsealRoot(sealKey, db, 'pending');
 */
import { unseal } from '../crypto/seal.js';
import type { RootVersionName, TargetRecord } from './types.js';

export function rootSecretAad(databaseId: string): string {
  return `pgmint:database:${databaseId}`;
}

export async function unsealRoot(
  sealKey: CryptoKey,
  db: Pick<TargetRecord, 'id' | 'rootSecret'>,
  version: RootVersionName = 'current',
): Promise<string> {
  const sealed = db.rootSecret[version];
  if (!sealed) throw new TypeError(`database ${db.id} has no ${version} root credential`);
  return unseal(sealKey, sealed, rootSecretAad(db.id));
}
