-- Expired is not revoked: a lease whose role still has sessions at expiry is
-- `draining` (it cannot log in again; its sessions keep working) until its
-- last session ends or its role's max_session after expiry passes. A
-- draining lease is live, not finished: it still owns a role on the target.
ALTER TABLE pgmint.leases DROP CONSTRAINT leases_state_check;
ALTER TABLE pgmint.leases ADD CONSTRAINT leases_state_check
  CHECK (state IN ('pending', 'active', 'draining', 'revoked', 'failed', 'irrevocable'));

-- How long a session may outlive its lease's expiry before the sweep ends it
-- (seconds; default 8 hours, at most 24).
ALTER TABLE pgmint.roles ADD COLUMN max_session integer NOT NULL DEFAULT 28800
  CHECK (max_session >= 0 AND max_session <= 86400);

-- The sweep claims due and draining leases in (expires_at, id) order, and
-- pages through them by that key within one run.
DROP INDEX pgmint.leases_due;
CREATE INDEX leases_due ON pgmint.leases (database_id, expires_at, id)
  WHERE state IN ('pending', 'active', 'draining');
DROP INDEX pgmint.leases_revoke_requested;
CREATE INDEX leases_revoke_requested ON pgmint.leases (database_id, revoke_requested_at)
  WHERE state IN ('pending', 'active', 'draining') AND revoke_requested_at IS NOT NULL;
