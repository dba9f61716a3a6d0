-- Seals a service database's audit_log against the services' own role (docs/security.md,
-- "PostgreSQL: roles and the sealed audit log"). Run by a superuser (locally the admin
-- certificate, mapped to postgres) in each service database once the service has applied its
-- migrations; idempotent, so it runs again after every start. Plain SQL without psql commands:
-- stack.sh runs it with psql, the tests and a Kubernetes Job may send it as one statement string.
--
-- The services connect as `techtrade`, which created audit_log and so owns it, and an owner may
-- disable or drop the append-only triggers. Afterwards `techtrade` only reads and appends:
-- audit_log, its sequence and indexes (moved with the table) and the trigger function belong to
-- `techtrade_audit`, a role nobody logs in as and `techtrade` is not a member of. The database and
-- its public schema go to that role too: the owner of a schema may drop any table in it, and the
-- owner of a database may drop the database. `techtrade` keeps what its migrations need: CREATE
-- on the public schema and ownership of every other table.
--
-- A later migration that alters audit_log (an index, a column) needs the table back for its run:
-- ALTER TABLE audit_log OWNER TO techtrade, start the service, then run this file again.
DO $seal$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'techtrade_audit') THEN
    CREATE ROLE techtrade_audit NOLOGIN;
  END IF;
  IF to_regclass('public.audit_log') IS NULL THEN
    RAISE EXCEPTION 'audit_log: not in database %; start its service (it migrates) first',
      current_database();
  END IF;
  EXECUTE format('ALTER DATABASE %I OWNER TO techtrade_audit', current_database());
END
$seal$;
ALTER SCHEMA public OWNER TO techtrade_audit;
GRANT USAGE, CREATE ON SCHEMA public TO techtrade;
ALTER TABLE public.audit_log OWNER TO techtrade_audit;
ALTER FUNCTION public.audit_log_refuse_change() OWNER TO techtrade_audit;
-- Exactly what AppendToOutbox and QueryAudit use (common/audit.cc), whatever was granted before.
REVOKE ALL ON public.audit_log FROM PUBLIC, techtrade;
GRANT SELECT, INSERT ON public.audit_log TO techtrade;
REVOKE ALL ON SEQUENCE public.audit_log_position_seq FROM PUBLIC, techtrade;
GRANT USAGE ON SEQUENCE public.audit_log_position_seq TO techtrade;
