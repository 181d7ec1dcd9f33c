-- The lease cap per workload, checked and applied in one call: the advisory
-- lock serialises concurrent exchanges of one workload, and the count runs in
-- a fresh snapshot after it, so two requests can never both take the last slot.
CREATE FUNCTION pgmint.insert_pending_lease(
  p_id uuid, p_database_id text, p_role_name text, p_username text, p_reassign_to text, p_subject text,
  p_issuer text, p_workload_key text, p_pod_name text, p_pod_uid text, p_expires_at timestamptz,
  p_max_expires_at timestamptz, p_cap integer
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('pgmint:lease-cap:' || p_database_id || ':' || p_workload_key, 0));
  IF (SELECT count(*) FROM pgmint.leases
      WHERE database_id = p_database_id AND workload_key = p_workload_key
        AND state IN ('pending', 'active') AND expires_at > now()) >= p_cap THEN
    RETURN false;
  END IF;
  INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer,
    workload_key, pod_name, pod_uid, expires_at, max_expires_at)
  VALUES (p_id, p_database_id, p_role_name, p_username, p_reassign_to, 'pending', p_subject, p_issuer,
    p_workload_key, p_pod_name, p_pod_uid, p_expires_at, p_max_expires_at);
  RETURN true;
END $$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgmint_runtime') THEN
    GRANT EXECUTE ON FUNCTION pgmint.insert_pending_lease TO pgmint_runtime;
  END IF;
END $$;
