/**
 * Standby roles: lease roles made ahead, while the target has nothing else to
 * do, so an exchange only renames one and lets it log in.
 *
 * Why: PostgreSQL checks every password given to CREATE ROLE against the
 * empty string, which for a SCRAM verifier is a full PBKDF2 at its iteration
 * count — about 4.5 ms of the server's CPU, most of what creating a lease role
 * costs. Claiming a standby (`ALTER ROLE … RENAME TO …; ALTER ROLE … LOGIN
 * VALID UNTIL …`) costs a round trip. A SCRAM verifier survives the rename.
 *
 * What a standby is: `<prefix>_standby_<random>`, NOLOGIN, made by pgmint's
 * own statement (through a creator role, or into the definition's groups) with
 * a VALID UNTIL `HORIZON_MS` ahead, its password known to this process alone
 * and never shown to anyone. It is only made for definitions whose roles the
 * orphan sweep recognises, so one left behind by a crash (or by a frozen
 * Lambda instance) is dropped by the sweep after its VALID UNTIL. A standby
 * is handed out only while `HAND_OUT_MS` of its life has not passed, well
 * before the sweep could touch it; older ones are dropped by the process that
 * made them. Closing the target drops those still waiting.
 *
 * When: the pool holds `size` standbys per role definition and refills one at
 * a time once the target's queue is empty (`limiter.idle()`), so under load —
 * when the queue is never empty — it makes nothing and exchanges create their
 * roles themselves, exactly as without it.
 *
 * @example
 *   const standby = target.standbys.take(definition); // null when none is ready
 */
import type { PasswordPair, VerifierPool } from '../crypto/verifier-pool.js';
import type { Sql } from '../db/port.js';
import { randomSuffix } from '../sql/lease-name.js';
import { ident } from '../sql/quote.js';
import { createLoginRoleSql, type LeaseRoleDefinition } from '../sql/role-sql.js';
import { createAsCreator, type Creators } from './creators.js';
import type { Limiter } from './limiter.js';

export interface Standby extends PasswordPair {
  name: string;
  /** The groups it joined; its creator holds ADMIN OPTION on them. */
  groups: readonly string[];
  /** When it was made (ms since the epoch). */
  madeAt: number;
  /** The role definitions it serves (keyOf). */
  key: string;
}

export interface StandbyRoles {
  /** A standby for this definition, now this caller's alone, or null; asks for a refill either way. */
  take(definition: LeaseRoleDefinition): Standby | null;
  /**
   * Forgets this definition's standbys (dropping any that still exist) and makes new ones:
   * after a claim was refused, the others were most likely dropped behind pgmint's back too.
   */
  discard(definition: LeaseRoleDefinition): void;
  /** Puts back a standby taken but not claimed. */
  giveBack(standby: Standby): void;
  /** Standbys ready now, over all definitions. */
  readonly ready: number;
  /** Stops refilling and drops the standbys still waiting. */
  close(): Promise<void>;
}

export interface StandbyOptions {
  /** Standbys kept per role definition; 0 makes none. */
  size: number;
  prefix: string;
  sql: Sql;
  limiter: Limiter;
  creators: () => Promise<Creators>;
  passwords: VerifierPool;
  now?: () => number;
}

/** How long a standby's VALID UNTIL reaches ahead of its creation. */
export const HORIZON_MS = 30 * 60_000;
/** How long after its creation a standby is still handed out: the orphan sweep waits for VALID UNTIL. */
export const HAND_OUT_MS = 20 * 60_000;
/** Role definitions with standbys per target; definitions beyond this get none. */
const MAX_DEFINITIONS = 32;

/** The part of a definition a standby's statements depend on. */
const keyOf = (d: LeaseRoleDefinition) => JSON.stringify([d.memberOf, d.searchPath, d.readOnly]);

export function createStandbyRoles(o: StandbyOptions): StandbyRoles {
  const now = o.now ?? Date.now;
  const ready = new Map<string, Standby[]>();
  const filling = new Set<string>();
  const loops = new Set<Promise<void>>();
  let closed = false;
  let wakeForClose = () => {};
  const closing = new Promise<void>((resolve) => (wakeForClose = resolve));

  // A standby never logged in and owns nothing: DROP ROLE is all it takes.
  const drop = (standbys: readonly Standby[]) =>
    Promise.all(
      standbys.map(async (s) => {
        const creators = await o.creators();
        await createAsCreator(o.sql, creators, { name: s.name, statements: `DROP ROLE IF EXISTS ${ident(s.name)}`, groups: s.groups });
      }),
    ).catch(() => {
      // Best effort: the orphan sweep drops a standby after its VALID UNTIL.
    });

  const make = async (key: string, definition: LeaseRoleDefinition): Promise<Standby> => {
    const pair = await o.passwords.take();
    const name = `${o.prefix}_standby_${randomSuffix(10)}`;
    const madeAt = now();
    const statements = createLoginRoleSql({
      name,
      verifier: pair.verifier,
      validUntil: new Date(madeAt + HORIZON_MS),
      memberOf: definition.memberOf,
      searchPath: definition.searchPath ?? undefined,
      readOnly: definition.readOnly,
      standby: true,
    });
    await createAsCreator(o.sql, await o.creators(), { name, statements, groups: definition.memberOf });
    return { ...pair, name, groups: definition.memberOf, madeAt, key };
  };

  const refill = (key: string, definition: LeaseRoleDefinition) => {
    if (o.size === 0 || closed || filling.has(key)) return;
    if (!ready.has(key) && ready.size >= MAX_DEFINITIONS) return;
    filling.add(key);
    const loop = (async () => {
      try {
        while (!closed && (ready.get(key)?.length ?? 0) < o.size) {
          await Promise.race([o.limiter.idle(), closing]);
          if (closed) break;
          const standby = await make(key, definition);
          if (closed) {
            await drop([standby]);
            break;
          }
          const list = ready.get(key) ?? [];
          list.push(standby);
          ready.set(key, list);
        }
      } catch {
        // The target refused or is away: exchanges create their roles themselves; the next take tries again.
      } finally {
        filling.delete(key);
      }
    })();
    loops.add(loop);
    void loop.finally(() => loops.delete(loop));
  };

  return {
    take(definition) {
      if (o.size === 0 || closed || definition.creationStatements) return null;
      const key = keyOf(definition);
      const list = ready.get(key) ?? [];
      const stale = list.filter((s) => now() - s.madeAt > HAND_OUT_MS);
      if (stale.length > 0) {
        list.splice(0, list.length, ...list.filter((s) => !stale.includes(s)));
        void drop(stale);
      }
      const standby = list.shift() ?? null;
      refill(key, definition);
      return standby;
    },
    discard(definition) {
      const key = keyOf(definition);
      const list = ready.get(key) ?? [];
      ready.delete(key);
      void drop(list);
      refill(key, definition);
    },
    giveBack(standby) {
      if (closed) return void drop([standby]);
      const list = ready.get(standby.key) ?? [];
      list.unshift(standby);
      ready.set(standby.key, list);
    },
    get ready() {
      let n = 0;
      for (const list of ready.values()) n += list.length;
      return n;
    },
    async close() {
      closed = true;
      wakeForClose();
      // A standby being made is dropped by its loop once made: wait for that before the pool ends.
      await Promise.allSettled([...loops]);
      const waiting = [...ready.values()].flat();
      ready.clear();
      await drop(waiting);
    },
  };
}
