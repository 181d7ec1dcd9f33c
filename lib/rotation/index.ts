/**
 * Root credential rotation: the state machine, its recovery, the scheduled run.
 *
 * @example
 *   import { rotateRoot } from '../rotation/index.js';
 *   await rotateRoot(deps, 'orders', { trigger: 'api', force: true });
 */
export { ROTATION_ACTION, type RotationContext, type RotationStep, type RotationTrigger } from './audit.js';
export type { RotationFaults } from './faults.js';
export { resolveRefusedRoot } from './refusal.js';
export { isDue, type RotateOptions, type RotationResult, rotateRoot } from './rotate.js';
export { rotateDueDatabases, type ScheduledRotationSummary } from './scheduled.js';
export { type SettleOutcome, settleRoot } from './settle.js';
export type { RootVersion } from './versions.js';
