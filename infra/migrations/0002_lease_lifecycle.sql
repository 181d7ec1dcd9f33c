-- Lease lifecycle: explicit revocation requests the sweeper retries, and the
-- indexes the sweeper, the lease listing and the orphan check read by.

-- Set when someone asked for a lease to end (DELETE, bulk revoke, forced
-- database removal); the sweeper retries such leases before they expire.
ALTER TABLE pgmint.leases ADD COLUMN revoke_requested_at timestamptz;

-- Due leases per database, oldest expiry first, for FOR UPDATE SKIP LOCKED claims.
CREATE INDEX leases_due ON pgmint.leases (database_id, expires_at)
  WHERE state IN ('pending', 'active');
CREATE INDEX leases_revoke_requested ON pgmint.leases (database_id, revoke_requested_at)
  WHERE state IN ('pending', 'active') AND revoke_requested_at IS NOT NULL;
CREATE INDEX leases_irrevocable ON pgmint.leases (database_id) WHERE state = 'irrevocable';
CREATE INDEX leases_by_subject ON pgmint.leases (database_id, subject, issued_at);

CREATE INDEX audit_by_action ON pgmint.audit_log (action, id);
CREATE INDEX audit_by_subject ON pgmint.audit_log (subject, id);

ALTER TABLE pgmint.admin_tokens ADD COLUMN created_by text;
