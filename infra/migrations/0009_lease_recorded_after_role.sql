-- An exchange whose role the orphan sweep can recognise creates the role
-- first and then records its lease, already active, in one call under the
-- same cap and lock as a pending one (0003, 0006): one control-plane write per
-- exchange instead of an insert and an update. `insert_pending_lease` stays
-- for roles the orphan sweep might not recognise (custom creation
-- statements), which are still tracked before they exist.
CREATE FUNCTION pgmint.insert_lease_within_cap(
  p_id uuid, p_database_id text, p_role_name text, p_username text, p_reassign_to text, p_subject text,
  p_issuer text, p_workload_key text, p_pod_name text, p_pod_uid text, p_expires_at timestamptz,
  p_max_expires_at timestamptz, p_cap integer, p_state text
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
  VALUES (p_id, p_database_id, p_role_name, p_username, p_reassign_to, p_state, p_subject, p_issuer,
    p_workload_key, p_pod_name, p_pod_uid, p_expires_at, p_max_expires_at);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION pgmint.insert_pending_lease(
  p_id uuid, p_database_id text, p_role_name text, p_username text, p_reassign_to text, p_subject text,
  p_issuer text, p_workload_key text, p_pod_name text, p_pod_uid text, p_expires_at timestamptz,
  p_max_expires_at timestamptz, p_cap integer
) RETURNS boolean LANGUAGE sql VOLATILE AS $$
  SELECT pgmint.insert_lease_within_cap(p_id, p_database_id, p_role_name, p_username, p_reassign_to, p_subject,
    p_issuer, p_workload_key, p_pod_name, p_pod_uid, p_expires_at, p_max_expires_at, p_cap, 'pending')
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgmint_runtime') THEN
    GRANT EXECUTE ON FUNCTION pgmint.insert_lease_within_cap TO pgmint_runtime;
  END IF;
END $$;
