-- pgmint control plane: registered targets, role templates, issuers, leases,
-- the append-only audit log and the persistent JWKS cache.

-- The schema itself is created by the migration runner.

CREATE TABLE pgmint.databases (
  id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  host             text NOT NULL,
  port             integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  database         text NOT NULL,
  admin_user       text NOT NULL,
  sslmode          text NOT NULL DEFAULT 'require',
  -- What workloads are told to connect to, when it differs (a PgBouncer, a DNS name).
  public_host      text,
  public_port      integer,
  public_sslmode   text,
  -- Sealed root credential versions: {"current": "v1.…", "pending": …, "previous": …}.
  root_secret      jsonb NOT NULL,
  root_rotated_at  timestamptz NOT NULL DEFAULT now(),
  rotation_period  interval NOT NULL DEFAULT interval '7 days',
  lease_prefix     text NOT NULL DEFAULT 'pgm',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pgmint.roles (
  database_id            text NOT NULL REFERENCES pgmint.databases (id) ON DELETE CASCADE,
  name                   text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  member_of              text[] NOT NULL DEFAULT '{}',
  search_path            text[],
  read_only              boolean NOT NULL DEFAULT true,
  allow_write            boolean NOT NULL DEFAULT false,
  default_ttl            integer NOT NULL CHECK (default_ttl > 0),
  max_ttl                integer NOT NULL CHECK (max_ttl > 0 AND max_ttl <= 28800),
  creation_statements    text,
  revocation_statements  text,
  renew_statements       text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (database_id, name),
  CHECK (default_ttl <= max_ttl)
);

CREATE TABLE pgmint.issuers (
  id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  database_id               text NOT NULL REFERENCES pgmint.databases (id) ON DELETE CASCADE,
  kind                      text NOT NULL DEFAULT 'k8s' CHECK (kind IN ('k8s', 'oidc')),
  issuer                    text NOT NULL,
  audiences                 text[] NOT NULL,
  allowed_service_accounts  text[] NOT NULL DEFAULT '{}',
  allowed_subjects          text[] NOT NULL DEFAULT '{}',
  bound_claims              jsonb NOT NULL DEFAULT '{}',
  default_role              text NOT NULL,
  allowed_roles             text[] NOT NULL,
  pinned_jwks               jsonb,
  pinned_pems               text[],
  max_leases_per_workload   integer NOT NULL DEFAULT 10 CHECK (max_leases_per_workload > 0),
  created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issuers_lookup ON pgmint.issuers (database_id, issuer);

CREATE TABLE pgmint.leases (
  id               uuid PRIMARY KEY,
  database_id      text NOT NULL,
  role_name        text NOT NULL,
  username         text NOT NULL UNIQUE,
  -- The group the lease user's objects are handed to on revocation.
  reassign_to      text,
  state            text NOT NULL CHECK (state IN ('pending', 'active', 'revoked', 'failed', 'irrevocable')),
  subject          text NOT NULL,
  issuer           text,
  workload_key     text NOT NULL,
  pod_name         text,
  pod_uid          text,
  issued_at        timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  max_expires_at   timestamptz NOT NULL,
  renewed_at       timestamptz,
  revoked_at       timestamptz,
  revoke_attempts  integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  last_error       text
);
CREATE INDEX leases_by_expiry ON pgmint.leases (expires_at) WHERE state IN ('pending', 'active');
CREATE INDEX leases_by_workload ON pgmint.leases (database_id, workload_key) WHERE state IN ('pending', 'active');
CREATE INDEX leases_by_database ON pgmint.leases (database_id, state, issued_at);

CREATE TABLE pgmint.audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON pgmint.audit_log (at, id);
CREATE INDEX audit_by_database ON pgmint.audit_log (database_id, at);

-- The audit log is append-only for everyone but a superuser: even the table's
-- owner cannot rewrite history without first dropping these triggers.
CREATE FUNCTION pgmint.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pgmint.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON pgmint.audit_log
  FOR EACH ROW EXECUTE FUNCTION pgmint.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON pgmint.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION pgmint.audit_log_is_append_only();

CREATE TABLE pgmint.jwks_cache (
  issuer      text PRIMARY KEY,
  jwks        jsonb NOT NULL,
  fetched_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pgmint.admin_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  token_hash  text NOT NULL UNIQUE,
  scopes      text[] NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- A runtime role, when the operator created one, may append to the audit log
-- and never change it.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgmint_runtime') THEN
    GRANT USAGE ON SCHEMA pgmint TO pgmint_runtime;
    GRANT SELECT, INSERT, UPDATE, DELETE ON pgmint.databases, pgmint.roles, pgmint.issuers,
      pgmint.leases, pgmint.jwks_cache, pgmint.admin_tokens TO pgmint_runtime;
    GRANT SELECT, INSERT ON pgmint.audit_log TO pgmint_runtime;
  END IF;
END $$;
