/**
 * Points where a rotation can be stopped on purpose, to prove that a crash
 * at any step is recovered, or watched, to exercise the broker while the
 * target and the control plane disagree. A hook that throws ends the rotation
 * right there, as if the process had died: nothing after it runs and nothing
 * is cleaned up (the advisory lock goes with its transaction).
 *
 * @example
 *   await rotateRoot(deps, 'orders', { trigger: 'api', faults: { afterAlterRole: () => { throw new Error('stop') } } });
 */
export interface RotationFaults {
  /** The sealed pending version is committed to the control plane. */
  afterPendingStored?: () => void | Promise<void>;
  /** The target holds the pending password; the control plane still says current. */
  afterAlterRole?: () => void | Promise<void>;
  /** A fresh login with the pending password worked; not yet promoted. */
  afterTest?: () => void | Promise<void>;
}
