-- pgmint target bootstrap, as a psql script. Run once per schema, as a
-- superuser, connected to the target database:
--
--   psql -d orders -v schema=app -v owner=app_owner -f infra/bootstrap/bootstrap.sql
--
-- Variables (psql quotes each one: :"x" as an identifier, :'x' as a literal):
--   schema     the schema the groups give access to               (required)
--   owner      the role that owns the schema and creates its tables (required;
--              default privileges are set FOR this role)
--   broker     pgmint's login role                                 (default pgmint_broker)
--   readonly   read-only group                                     (default <schema>_readonly)
--   readwrite  read/write group                                    (default <schema>_readwrite)
--   create_broker  set to 0 for a second schema once the broker exists (default 1)
--
-- `pgmint bootstrap-sql --database orders --schema app --owner app_owner` prints
-- the same statements with the names filled in. README.md explains each one.

\set ON_ERROR_STOP on
\if :{?schema}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the schema: psql -v schema=<name>'; END $$;
\endif
\if :{?owner}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the schema owner (the role that creates its tables): psql -v owner=<role>'; END $$;
\endif
\if :{?broker}
\else
  \set broker pgmint_broker
\endif
\if :{?readonly}
\else
  \set readonly :schema _readonly
\endif
\if :{?readwrite}
\else
  \set readwrite :schema _readwrite
\endif
\if :{?create_broker}
\else
  \set create_broker 1
\endif
SELECT current_setting('server_version_num')::int >= 160000 AS pg16 \gset

BEGIN;

\if :create_broker
-- The broker creates, renews and drops login roles. CREATEROLE and nothing
-- more: no superuser, no data access of its own. Its password is set
-- afterwards with \password, which sends only a SCRAM verifier.
CREATE ROLE :"broker" LOGIN CREATEROLE NOINHERIT NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD NULL;
\endif

CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";

-- Groups hold the privileges; every minted login joins one of them.
CREATE ROLE :"readonly" NOLOGIN;
CREATE ROLE :"readwrite" NOLOGIN;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"readonly", :"readwrite";
GRANT USAGE ON SCHEMA :"schema" TO :"readonly", :"readwrite";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"readonly";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"readwrite";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"readwrite";

-- Tables and sequences the owner creates later get the same grants.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"readonly";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"readwrite";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema" GRANT USAGE, SELECT ON SEQUENCES TO :"readwrite";

-- Applies to sessions of this role itself; pgmint also sets it on each
-- read-only login. The privileges above are the boundary.
ALTER ROLE :"readonly" SET default_transaction_read_only = on;

\if :pg16
-- PostgreSQL 16+: the broker may grant the groups to the logins it creates,
-- but neither inherits their privileges nor can SET ROLE to them.
-- (On 15 and older CREATEROLE alone lets it grant any non-superuser role.)
GRANT :"readonly" TO :"broker" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
GRANT :"readwrite" TO :"broker" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
-- A schema of the broker's own, holding only the functions of its creator
-- roles: on 16+ those create and drop the logins, so that the cost of each
-- CREATE/DROP ROLE does not grow with every login alive (README.md).
CREATE SCHEMA IF NOT EXISTS pgmint_roles AUTHORIZATION :"broker";
\endif

COMMIT;
