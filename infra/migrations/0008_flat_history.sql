-- Flat with history: the audit log loses its DEFAULT partition, so a read
-- ordered by time scans the months newest first and stops at its page
-- (Postgres orders a partitioned scan only when no DEFAULT partition can hold
-- rows of any month); irrevocable leases an operator acknowledged finish and
-- age out like revoked ones.

-- Leases: `acknowledged` is an irrevocable lease an operator has seen (POST
-- /api/v1/leases/{id}/acknowledge); it finishes when acknowledged.
ALTER TABLE pgmint.leases DROP CONSTRAINT leases_state_check;
ALTER TABLE pgmint.leases ADD CONSTRAINT leases_state_check
  CHECK (state IN ('pending', 'active', 'draining', 'revoked', 'failed', 'irrevocable', 'acknowledged'));
ALTER TABLE pgmint.leases ADD COLUMN acknowledged_at timestamptz;
DROP INDEX pgmint.leases_finished;
CREATE INDEX leases_finished ON pgmint.leases ((coalesce(acknowledged_at, revoked_at, issued_at)))
  WHERE state IN ('revoked', 'failed', 'acknowledged');

-- The audit log: instead of a DEFAULT partition, `pgmint.audit_log_ahead`
-- holds every time from the month after the newest monthly partition on
-- (FROM that month TO MAXVALUE), so an insert always has a partition however
-- long the sweep has not run, and the partitions stay ordered by time.
-- ensure_audit_partitions moves it forward as it makes months: it detaches
-- it, makes the months (and any month holding rows it caught), attaches a new
-- one after them, and moves the caught rows into their months, ids kept.
-- Normally it is empty and this is one DDL a month; after a long gap it
-- moves the rows of the gap once. All under one advisory lock.
CREATE OR REPLACE FUNCTION pgmint.ensure_audit_partitions(p_from timestamptz, p_through timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  cap timestamp := date_trunc('month', (now() + interval '2 years') AT TIME ZONE 'UTC');
  first_month timestamp := date_trunc('month', p_from AT TIME ZONE 'UTC');
  last_month timestamp := least(date_trunc('month', p_through AT TIME ZONE 'UTC'), cap);
  month timestamp;
  name text;
  ahead_from timestamp;
  caught_first timestamp;
  caught_last timestamp;
  newest text;
  old_lock_timeout text;
  made integer := 0;
BEGIN
  -- The common case (every sweep): every month is there, no lock taken.
  month := first_month;
  WHILE month <= last_month AND to_regclass('pgmint.audit_log_' || to_char(month, '"y"YYYY"m"MM')) IS NOT NULL LOOP
    month := month + interval '1 month';
  END LOOP;
  IF month > last_month AND to_regclass('pgmint.audit_log_ahead') IS NOT NULL THEN
    RETURN 0;
  END IF;

  -- Two sweeps at once: the second waits, then finds the months made.
  PERFORM pg_advisory_xact_lock(hashtextextended('pgmint:audit-partitions', 0));
  -- Making a partition locks the audit log; behind a long reader that would hold up every
  -- insert, so this gives up after two seconds and the next sweep tries again (the
  -- partition ahead takes the rows meanwhile).
  old_lock_timeout := current_setting('lock_timeout');
  PERFORM set_config('lock_timeout', '2s', true);
  BEGIN
    SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz AT TIME ZONE 'UTC'
      INTO ahead_from
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'pgmint.audit_log'::regclass AND c.relname = 'audit_log_ahead';
    IF ahead_from IS NOT NULL AND last_month >= ahead_from THEN
      ALTER TABLE pgmint.audit_log DETACH PARTITION pgmint.audit_log_ahead;
      ALTER TABLE pgmint.audit_log_ahead RENAME TO audit_log_ahead_caught;
      first_month := least(first_month, ahead_from);
    END IF;
    IF to_regclass('pgmint.audit_log_ahead_caught') IS NOT NULL THEN
      EXECUTE $q$SELECT date_trunc('month', min(at) AT TIME ZONE 'UTC'), date_trunc('month', max(at) AT TIME ZONE 'UTC')
                 FROM pgmint.audit_log_ahead_caught$q$ INTO caught_first, caught_last;
      IF caught_first IS NOT NULL THEN
        first_month := least(first_month, caught_first);
        last_month := greatest(last_month, least(caught_last, cap));
      END IF;
    END IF;

    month := first_month;
    WHILE month <= last_month LOOP
      name := 'audit_log_' || to_char(month, '"y"YYYY"m"MM');
      -- A month inside the (still attached) partition ahead is never asked for: last_month < ahead_from then.
      IF to_regclass('pgmint.' || name) IS NULL THEN
        EXECUTE format('CREATE TABLE pgmint.%I PARTITION OF pgmint.audit_log FOR VALUES FROM (%L) TO (%L)',
          name, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.%I
          FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only()', name);
        made := made + 1;
      END IF;
      month := month + interval '1 month';
    END LOOP;

    IF to_regclass('pgmint.audit_log_ahead') IS NULL THEN
      SELECT max(c.relname) INTO newest FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'pgmint.audit_log'::regclass AND c.relname ~ '^audit_log_y[0-9]{4}m[0-9]{2}$';
      month := make_timestamp(substr(newest, 12, 4)::int, substr(newest, 17, 2)::int, 1, 0, 0, 0) + interval '1 month';
      EXECUTE format('CREATE TABLE pgmint.audit_log_ahead PARTITION OF pgmint.audit_log FOR VALUES FROM (%L) TO (MAXVALUE)', month AT TIME ZONE 'UTC');
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.audit_log_ahead
        FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only();
    END IF;
    IF to_regclass('pgmint.audit_log_ahead_caught') IS NOT NULL THEN
      EXECUTE $q$INSERT INTO pgmint.audit_log (id, at, request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail)
        OVERRIDING SYSTEM VALUE
        SELECT id, at, request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail
        FROM pgmint.audit_log_ahead_caught$q$;
      DROP TABLE pgmint.audit_log_ahead_caught;
    END IF;
  EXCEPTION WHEN lock_not_available THEN
    RAISE WARNING 'pgmint: audit partitions not made this time: %', SQLERRM;
    made := 0;
  END;
  PERFORM set_config('lock_timeout', old_lock_timeout, true);
  RETURN made;
END $$;

-- The DEFAULT partition goes; rows it caught move into their months.
ALTER TABLE pgmint.audit_log DETACH PARTITION pgmint.audit_log_default;
ALTER TABLE pgmint.audit_log_default RENAME TO audit_log_ahead_caught;
SELECT pgmint.ensure_audit_partitions(now(), now() + interval '3 months');
