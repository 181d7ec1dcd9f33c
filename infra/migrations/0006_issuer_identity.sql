-- A workload is (issuer, subject): two clusters may both run batch/worker,
-- and each has its own lease cap. Issuers also gain a token policy, a private
-- CA for discovery, and the JWKS cache remembers why its last fetch failed.

-- Token policy: the longest token accepted (exp - iat, seconds; 0 = no limit)
-- and whether a k8s token must be bound to a pod.
ALTER TABLE pgmint.issuers
  ADD COLUMN max_token_lifetime integer NOT NULL DEFAULT 172800 CHECK (max_token_lifetime >= 0),
  ADD COLUMN require_bound_pod boolean NOT NULL DEFAULT false,
  -- PEM certificates trusted for this issuer's discovery and JWKS fetches (instead of the system roots).
  ADD COLUMN ca_pem text;

-- The last failed discovery or key fetch of an issuer: a row may now exist
-- before any key was ever fetched.
ALTER TABLE pgmint.jwks_cache
  ALTER COLUMN jwks DROP NOT NULL,
  ALTER COLUMN fetched_at DROP NOT NULL,
  ALTER COLUMN fetched_at DROP DEFAULT,
  ADD COLUMN failed_at timestamptz,
  ADD COLUMN failure jsonb;

-- Existing live leases are counted under the issuer they were minted for.
-- Leases written before pgmint recorded an issuer take it from their
-- exchange's audit row, so they keep counting against the right cluster.
UPDATE pgmint.leases l SET issuer = (
  SELECT a.issuer FROM pgmint.audit_log a
  WHERE a.lease_id = l.id AND a.action = 'credentials.issue' AND a.outcome = 'success' AND a.issuer IS NOT NULL
  LIMIT 1)
WHERE l.issuer IS NULL AND l.state IN ('pending', 'active', 'draining');

DROP INDEX pgmint.leases_by_workload;
CREATE INDEX leases_by_workload ON pgmint.leases (database_id, issuer, workload_key) WHERE state IN ('pending', 'active');
-- Listing and bulk revocation by subject narrow by issuer too.
DROP INDEX pgmint.leases_by_subject;
CREATE INDEX leases_by_subject ON pgmint.leases (database_id, subject, issuer, issued_at);

-- The cap counts and serialises per (database, issuer, workload).
CREATE OR REPLACE FUNCTION pgmint.insert_pending_lease(
  p_id uuid, p_database_id text, p_role_name text, p_username text, p_reassign_to text, p_subject text,
  p_issuer text, p_workload_key text, p_pod_name text, p_pod_uid text, p_expires_at timestamptz,
  p_max_expires_at timestamptz, p_cap integer
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(
    'pgmint:lease-cap:' || p_database_id || ':' || coalesce(p_issuer, '') || ':' || p_workload_key, 0));
  IF (SELECT count(*) FROM pgmint.leases
      WHERE database_id = p_database_id AND issuer IS NOT DISTINCT FROM p_issuer AND workload_key = p_workload_key
        AND state IN ('pending', 'active') AND expires_at > now()) >= p_cap THEN
    RETURN false;
  END IF;
  INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer,
    workload_key, pod_name, pod_uid, expires_at, max_expires_at)
  VALUES (p_id, p_database_id, p_role_name, p_username, p_reassign_to, 'pending', p_subject, p_issuer,
    p_workload_key, p_pod_name, p_pod_uid, p_expires_at, p_max_expires_at);
  RETURN true;
END $$;
