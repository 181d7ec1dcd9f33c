-- Bounded history: every request-path query has an index, finished leases
-- can be deleted in batches, and the audit log is partitioned by month so old
-- months are retired by detaching a partition instead of deleting rows.

-- Finished leases (revoked — including expired and dropped — or failed at
-- issue), oldest first, for the sweep's retention batches. A failed lease
-- never had a role, so it finished when it was issued.
CREATE INDEX leases_finished ON pgmint.leases ((coalesce(revoked_at, issued_at)))
  WHERE state IN ('revoked', 'failed');
-- The lease listing without a state or subject filter: one database, oldest first.
CREATE INDEX leases_listing ON pgmint.leases (database_id, issued_at, id);
-- The listing by username prefix (LIKE 'prefix%'), whatever the database's collation.
CREATE INDEX leases_by_username_pattern ON pgmint.leases (username text_pattern_ops);

-- The audit log, partitioned by month on `at`. Existing rows keep their ids.
ALTER TABLE pgmint.audit_log RENAME TO audit_log_unpartitioned;
ALTER TABLE pgmint.audit_log_unpartitioned RENAME CONSTRAINT audit_log_pkey TO audit_log_unpartitioned_pkey;
ALTER INDEX pgmint.audit_by_time RENAME TO audit_unpartitioned_by_time;
ALTER INDEX pgmint.audit_by_database RENAME TO audit_unpartitioned_by_database;
ALTER INDEX pgmint.audit_by_action RENAME TO audit_unpartitioned_by_action;
ALTER INDEX pgmint.audit_by_subject RENAME TO audit_unpartitioned_by_subject;

CREATE TABLE pgmint.audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  at           timestamptz NOT NULL DEFAULT now(),
  request_id   text,
  action       text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
  code         text,
  database_id  text,
  subject      text,
  issuer       text,
  pod          text,
  lease_id     uuid,
  role_name    text,
  username     text,
  detail       jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
-- Newest first within each filter the audit route offers (lib/store/audit.ts).
CREATE INDEX audit_by_time ON pgmint.audit_log (at, id);
CREATE INDEX audit_by_database ON pgmint.audit_log (database_id, at, id);
CREATE INDEX audit_by_action ON pgmint.audit_log (action, at, id);
CREATE INDEX audit_by_subject ON pgmint.audit_log (subject, at, id);

-- Row triggers on the parent are cloned onto every partition; TRUNCATE of a
-- partition bypasses the parent's, so each partition gets its own.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON pgmint.audit_log
  FOR EACH ROW EXECUTE FUNCTION pgmint.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only();

-- Rows whose month has no partition land here rather than fail the request
-- that wrote them (only if the sweep has not run for months). It is never retired.
CREATE TABLE pgmint.audit_log_default PARTITION OF pgmint.audit_log DEFAULT;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.audit_log_default
  FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only();

-- The partition for each month from p_from through p_through that does not
-- exist yet (pgmint.audit_log_yYYYYmMM, months in UTC); returns how many were
-- made. The sweep keeps three months ahead. SECURITY DEFINER: the runtime
-- role may add partitions, never change one. A month whose rows already sit
-- in the default partition is left there (a warning), so no row ever moves.
CREATE FUNCTION pgmint.ensure_audit_partitions(p_from timestamptz, p_through timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  month timestamp := date_trunc('month', p_from AT TIME ZONE 'UTC');
  last timestamp := date_trunc('month', least(p_through, now() + interval '2 years') AT TIME ZONE 'UTC');
  name text;
  made integer := 0;
BEGIN
  WHILE month <= last LOOP
    name := 'audit_log_' || to_char(month, '"y"YYYY"m"MM');
    IF to_regclass('pgmint.' || name) IS NULL THEN
      -- Two sweeps at once: the second waits, then finds the partition made.
      PERFORM pg_advisory_xact_lock(hashtextextended('pgmint:audit-partitions', 0));
    END IF;
    IF to_regclass('pgmint.' || name) IS NULL THEN
      IF EXISTS (SELECT 1 FROM pgmint.audit_log_default
                 WHERE at >= month AT TIME ZONE 'UTC' AND at < (month + interval '1 month') AT TIME ZONE 'UTC') THEN
        RAISE WARNING 'pgmint: audit rows of % are in pgmint.audit_log_default; that month gets no partition', to_char(month, 'YYYY-MM');
      ELSE
        EXECUTE format('CREATE TABLE pgmint.%I PARTITION OF pgmint.audit_log FOR VALUES FROM (%L) TO (%L)',
          name, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.%I
          FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only()', name);
        made := made + 1;
      END IF;
    END IF;
    month := month + interval '1 month';
  END LOOP;
  RETURN made;
END $$;

-- Detaches and drops every monthly partition whose month ended more than
-- p_retention ago, and audits each one in the same transaction. Refuses a
-- retention under 30 days, so the runtime role (which may call this) can
-- never erase recent history. Returns the partitions retired.
CREATE FUNCTION pgmint.retire_audit_partitions(p_retention interval, p_request_id text DEFAULT NULL)
RETURNS TABLE (partition_name text, month_start timestamptz, approx_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  p record;
BEGIN
  IF p_retention < interval '30 days' THEN
    RAISE EXCEPTION 'audit retention must be at least 30 days' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('pgmint:audit-partitions', 0));
  FOR p IN
    SELECT c.relname::text AS name, make_timestamp(substr(c.relname, 12, 4)::int, substr(c.relname, 17, 2)::int, 1, 0, 0, 0) AS month,
           greatest(c.reltuples, 0)::bigint AS approx
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'pgmint.audit_log'::regclass AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$'
    ORDER BY c.relname
  LOOP
    CONTINUE WHEN (p.month + interval '1 month') AT TIME ZONE 'UTC' > now() - p_retention;
    EXECUTE format('ALTER TABLE pgmint.audit_log DETACH PARTITION pgmint.%I', p.name);
    EXECUTE format('DROP TABLE pgmint.%I', p.name);
    INSERT INTO pgmint.audit_log (request_id, action, outcome, detail)
    VALUES (p_request_id, 'audit.retire', 'success', jsonb_build_object(
      'partition', p.name, 'from', p.month AT TIME ZONE 'UTC', 'to', (p.month + interval '1 month') AT TIME ZONE 'UTC',
      'approx_rows', p.approx, 'retention_days', extract(day FROM p_retention)));
    partition_name := p.name;
    month_start := p.month AT TIME ZONE 'UTC';
    approx_rows := p.approx;
    RETURN NEXT;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION pgmint.ensure_audit_partitions(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmint.retire_audit_partitions(interval, text) FROM PUBLIC;

-- Partitions for every month that holds rows, and three months ahead; then the rows, ids kept.
SELECT pgmint.ensure_audit_partitions(coalesce((SELECT min(at) FROM pgmint.audit_log_unpartitioned), now()), now() + interval '3 months');
INSERT INTO pgmint.audit_log (id, at, request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail)
  OVERRIDING SYSTEM VALUE
  SELECT id, at, request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail
  FROM pgmint.audit_log_unpartitioned;
SELECT setval(pg_get_serial_sequence('pgmint.audit_log', 'id'), coalesce((SELECT max(id) FROM pgmint.audit_log_unpartitioned), 0) + 1, false);
DROP TABLE pgmint.audit_log_unpartitioned;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgmint_runtime') THEN
    GRANT SELECT, INSERT ON pgmint.audit_log TO pgmint_runtime;
    GRANT EXECUTE ON FUNCTION pgmint.ensure_audit_partitions(timestamptz, timestamptz) TO pgmint_runtime;
    GRANT EXECUTE ON FUNCTION pgmint.retire_audit_partitions(interval, text) TO pgmint_runtime;
  END IF;
END $$;
