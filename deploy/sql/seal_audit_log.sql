-- Seals a service database's audit_log against the services' own role (docs/security.md,
-- "PostgreSQL: roles and the sealed audit log"). Run by a superuser (locally the admin
-- certificate, mapped to postgres; on Kubernetes `<service> --seal-audit-log`) in each service
-- database once the service's migrations are applied; idempotent, so it runs again after every
-- start. Plain SQL without psql commands: stack.sh runs it with psql, the binaries and the tests
-- send it as one statement string.
--
-- Two roles, named by session settings the caller sets before this file runs (set_config, or
-- PGOPTIONS='-c techtrade.service_role=...'): techtrade.service_role, the role the services
-- connect as (default `techtrade`), and techtrade.schema_role, the role that migrates (default:
-- the service role; on Kubernetes a migrator of its own). Below, "the services" and "the
-- migrator" are these two, which locally are the one role `techtrade`.
--
-- The migrator created audit_log and so owns it, and an owner may disable or drop the
-- append-only triggers. Afterwards the services only read and append, and the migrator has no
-- right on it at all: audit_log, its sequence and indexes and the trigger functions belong to
-- `techtrade_audit`, a role nobody logs in as and nobody is a member of. The database and its
-- public schema go to that role too: the owner of a schema may drop any table in it, and the
-- owner of a database may drop the database. The migrator keeps what its migrations need: USAGE
-- and CREATE on the public schema and ownership of every other table.
--
-- Whatever either role did as the owner before is undone, not inherited: its triggers, policies,
-- rules, per-database settings, a rewritten trigger function, an unlogged table or sequence. And
-- the seal refuses to run while either role is, or can become, a superuser: then it would claim
-- a seal that role can break. So it does while code either can rewrite would run as the admin or
-- as the table's owner: an event trigger, an expression (or operator class, domain...) on
-- audit_log, anything else `techtrade_audit` owns.
--
-- This runs as a superuser in a database the migrator has written to (CREATE on public, and it
-- may have owned the database): nothing here may resolve a name through a schema it can create
-- in (CVE-2018-1058). So the session's role and search_path are fixed first, before anything
-- calls a function, and every function and object below is schema-qualified; the role names
-- reach statements only through format('%I').
--
-- A later migration that alters audit_log (an index, a column) runs as a superuser, followed by
-- this file; handing the table back to the migrator for it would void the seal.
SET ROLE NONE;
SET search_path = pg_catalog, pg_temp;
-- A service's open transaction that read audit_log holds back the seal's ALTERs: wait for it a
-- bounded time, then fail (and the start with it) instead of hanging the start.
SET lock_timeout = '30s';

BEGIN;

DO $seal$
DECLARE
  r record;
  top bigint;
  service_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.service_role', true),
                                       ''), 'techtrade');
  schema_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.schema_role', true),
                                      ''), service_role);
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = service_role) THEN
    RAISE EXCEPTION 'techtrade.service_role: role % does not exist', service_role;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = schema_role) THEN
    RAISE EXCEPTION 'techtrade.schema_role: role % does not exist', schema_role;
  END IF;
  IF 'techtrade_audit' IN (service_role, schema_role) THEN
    RAISE EXCEPTION 'techtrade.service_role, techtrade.schema_role: not techtrade_audit, the '
      'sealed log''s owner; name the services'' role and the migrator';
  END IF;
  -- A superuser role (or one that can SET ROLE to a superuser, or grant itself roles) can undo
  -- every step below; say so instead of claiming a seal.
  FOR r IN SELECT q.name, p.rolname
             FROM (VALUES (service_role), (schema_role)) AS q(name)
             JOIN pg_catalog.pg_roles p
               ON (p.rolsuper OR p.rolcreaterole)
                  AND pg_catalog.pg_has_role(q.name, p.oid, 'MEMBER') LOOP
    RAISE EXCEPTION '%: is or can become % (a superuser or CREATEROLE role); '
      'demote it (ALTER ROLE % NOSUPERUSER NOCREATEROLE, revoke the membership) first',
      r.name, r.rolname, pg_catalog.quote_ident(r.name);
  END LOOP;
  -- Nothing switches event triggers off, and one fires on the seal's DDL running its function as
  -- the admin: only triggers and functions a superuser owns may stay (a superuser migrator
  -- could have made either).
  FOR r IN SELECT e.evtname, e.evtowner::pg_catalog.regrole AS owner,
                  e.evtfoid::pg_catalog.regprocedure AS fn,
                  p.proowner::pg_catalog.regrole AS fn_owner
             FROM pg_catalog.pg_event_trigger e
             JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid
            WHERE NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = e.evtowner)
               OR NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = p.proowner) LOOP
    RAISE EXCEPTION 'audit_log: event trigger % (owner %, function % of %) would run as the '
      'admin during the seal; drop it (as the admin) and seal again',
      r.evtname, r.owner, r.fn, r.fn_owner;
  END LOOP;

  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'techtrade_audit') THEN
    CREATE ROLE techtrade_audit NOLOGIN;
  END IF;
  -- The role may predate this file (made by a superuser migrator): nobody logs in as it or
  -- holds it.
  ALTER ROLE techtrade_audit NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS PASSWORD NULL;
  FOR r IN SELECT m.member::pg_catalog.regrole AS member
             FROM pg_catalog.pg_auth_members m
            WHERE m.roleid = 'techtrade_audit'::pg_catalog.regrole LOOP
    EXECUTE pg_catalog.format('REVOKE techtrade_audit FROM %s', r.member);
  END LOOP;

  IF pg_catalog.to_regclass('public.audit_log') IS NULL THEN
    RAISE EXCEPTION 'audit_log: not in database %; start its service (it migrates) first',
      pg_catalog.current_database();
  END IF;
  IF (SELECT relkind FROM pg_catalog.pg_class
       WHERE oid = 'public.audit_log'::pg_catalog.regclass) <> 'r'
     OR pg_catalog.to_regclass('public.audit_log_position_seq') IS NULL
     OR (SELECT relkind FROM pg_catalog.pg_class
          WHERE oid = 'public.audit_log_position_seq'::pg_catalog.regclass) <> 'S' THEN
    RAISE EXCEPTION 'audit_log: not the plain table and sequence migration 0010 made';
  END IF;
  -- A rule can turn an INSERT into nothing, a child table adds rows QueryAudit reads: neither is
  -- ours to guess the intent of.
  IF EXISTS (SELECT FROM pg_catalog.pg_rewrite
              WHERE ev_class = 'public.audit_log'::pg_catalog.regclass) THEN
    RAISE EXCEPTION 'audit_log: has rules; drop them (as the admin) and seal again';
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_inherits
              WHERE inhrelid = 'public.audit_log'::pg_catalog.regclass
                 OR inhparent = 'public.audit_log'::pg_catalog.regclass) THEN
    RAISE EXCEPTION 'audit_log: has a parent or child table; detach it (as the admin) and seal '
      'again';
  END IF;

  -- Settings the database's owner attached to it apply to every session, the admin's included
  -- (a `role` or `search_path` there would hijack the next seal).
  EXECUTE pg_catalog.format('ALTER DATABASE %I RESET ALL', pg_catalog.current_database());
  EXECUTE pg_catalog.format('ALTER DATABASE %I OWNER TO techtrade_audit',
                            pg_catalog.current_database());

  -- Every trigger goes, so none the migrator wrote survives; the seal's own come back below.
  FOR r IN SELECT tgname FROM pg_catalog.pg_trigger
            WHERE tgrelid = 'public.audit_log'::pg_catalog.regclass AND NOT tgisinternal LOOP
    EXECUTE pg_catalog.format('DROP TRIGGER %I ON public.audit_log', r.tgname);
  END LOOP;
  FOR r IN SELECT polname FROM pg_catalog.pg_policy
            WHERE polrelid = 'public.audit_log'::pg_catalog.regclass LOOP
    EXECUTE pg_catalog.format('DROP POLICY %I ON public.audit_log', r.polname);
  END LOOP;

  -- What audit_log and its parts (columns, indexes, constraints, defaults, statistics objects,
  -- row type) refer to: an expression, operator class, operator, collation or domain there runs
  -- whenever maintenance (ANALYZE, REINDEX, the rewrite of SET LOGGED below) evaluates it, as
  -- the table's owner or the admin, so whatever the migrator can redefine must not be among them.
  -- Built-ins (pg_catalog) are fine. Every dependency type counts, not only 'normal' ones. Run
  -- after the triggers went, so their functions need no exception; the seal's come back below.
  FOR r IN WITH RECURSIVE part(classid, objid) AS (
             SELECT 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid,
                    'public.audit_log'::pg_catalog.regclass::pg_catalog.oid
             UNION
             SELECT d.classid, d.objid
               FROM pg_catalog.pg_depend d JOIN part ON d.refclassid = part.classid
                                                  AND d.refobjid = part.objid
              WHERE d.deptype IN ('a', 'i'))
           SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) AS what,
                  pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS dep
             FROM pg_catalog.pg_depend d JOIN part ON d.classid = part.classid
                                                AND d.objid = part.objid
            WHERE (d.refclassid, d.refobjid) NOT IN (SELECT classid, objid FROM part)
              AND NOT (d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                       AND d.refobjid = 'public.audit_log_position_seq'::pg_catalog.regclass)
              AND NOT (d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                       AND d.refobjid = 'public'::pg_catalog.regnamespace)
              AND (pg_catalog.pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid)).schema
                    IS DISTINCT FROM 'pg_catalog'
            ORDER BY 1, 2 LOOP
    RAISE EXCEPTION 'audit_log: % depends on %; drop it (as the admin) and seal again', r.what,
      r.dep;
  END LOOP;

  -- The functions go to techtrade_audit before they are rewritten, so the migrator cannot replace
  -- them in between.
  IF pg_catalog.to_regprocedure('public.audit_log_refuse_change()') IS NOT NULL THEN
    ALTER FUNCTION public.audit_log_refuse_change() OWNER TO techtrade_audit;
  END IF;
  IF pg_catalog.to_regprocedure('public.audit_log_stamp()') IS NOT NULL THEN
    ALTER FUNCTION public.audit_log_stamp() OWNER TO techtrade_audit;
  END IF;

  -- The sequence moves with the table only while it is linked to the column.
  ALTER SEQUENCE public.audit_log_position_seq OWNED BY NONE;
  ALTER SEQUENCE public.audit_log_position_seq OWNER TO techtrade_audit;
  ALTER TABLE public.audit_log OWNER TO techtrade_audit;
  ALTER SEQUENCE public.audit_log_position_seq OWNED BY public.audit_log.position;
  ALTER SEQUENCE public.audit_log_position_seq AS bigint INCREMENT BY 1 NO MINVALUE NO MAXVALUE
    NO CYCLE;
  -- A sequence set back would hand out positions below rows that exist.
  SELECT pg_catalog.max(position) INTO top FROM public.audit_log;
  IF top IS NOT NULL AND top >= (SELECT last_value FROM public.audit_log_position_seq) THEN
    PERFORM pg_catalog.setval('public.audit_log_position_seq'::pg_catalog.regclass, top, true);
  END IF;
END
$seal$;

ALTER SCHEMA public OWNER TO techtrade_audit;
DO $schema$
DECLARE
  service_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.service_role', true),
                                       ''), 'techtrade');
  schema_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.schema_role', true),
                                      ''), service_role);
BEGIN
  -- Only the migrator creates here (PUBLIC may hold CREATE in a database from before PG 15).
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  IF service_role <> schema_role THEN
    EXECUTE pg_catalog.format('REVOKE CREATE ON SCHEMA public FROM %I', service_role);
  END IF;
  EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA public TO %I', service_role);
  EXECUTE pg_catalog.format('GRANT USAGE, CREATE ON SCHEMA public TO %I', schema_role);
END
$schema$;

ALTER TABLE public.audit_log SET LOGGED;
ALTER SEQUENCE public.audit_log_position_seq SET LOGGED;
ALTER TABLE public.audit_log DISABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log NO FORCE ROW LEVEL SECURITY;

-- The body is the seal's, whatever the migrator wrote while it owned the function; a fixed
-- search_path so that it never resolves through public.
CREATE OR REPLACE FUNCTION public.audit_log_refuse_change() RETURNS trigger
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $fn$;
ALTER FUNCTION public.audit_log_refuse_change() OWNER TO techtrade_audit;

-- The database decides where a row goes and when it arrived: the services' INSERT right alone
-- must not place a row in a gap between positions (backdating it). occurred_at stays the
-- producer's claim; recorded_at is the database's clock (NULL for rows older than the seal).
DO $stamp$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute
                  WHERE attrelid = 'public.audit_log'::pg_catalog.regclass
                    AND attname = 'recorded_at' AND NOT attisdropped) THEN
    ALTER TABLE public.audit_log ADD COLUMN recorded_at timestamptz;
  END IF;
END
$stamp$;
ALTER TABLE public.audit_log ALTER COLUMN position DROP DEFAULT;
CREATE OR REPLACE FUNCTION public.audit_log_stamp() RETURNS trigger
  LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog AS $fn$
BEGIN
  NEW.position := pg_catalog.nextval('public.audit_log_position_seq'::pg_catalog.regclass);
  NEW.recorded_at := pg_catalog.statement_timestamp();
  RETURN NEW;
END $fn$;
ALTER FUNCTION public.audit_log_stamp() OWNER TO techtrade_audit;

-- ENABLE ALWAYS: they fire under session_replication_role = replica too.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON public.audit_log
  FOR EACH ROW EXECUTE FUNCTION public.audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_refuse_change();
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON public.audit_log
  FOR EACH ROW EXECUTE FUNCTION public.audit_log_stamp();
ALTER TABLE public.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE public.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE public.audit_log ENABLE ALWAYS TRIGGER audit_log_stamp;

-- Exactly what AppendToOutbox and QueryAudit use (common/audit.cc), whatever was granted before.
DO $grant$
DECLARE
  service_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.service_role', true),
                                       ''), 'techtrade');
  schema_role name := COALESCE(NULLIF(pg_catalog.current_setting('techtrade.schema_role', true),
                                      ''), service_role);
BEGIN
  EXECUTE pg_catalog.format('REVOKE ALL ON public.audit_log FROM PUBLIC, %I, %I', service_role,
                            schema_role);
  EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE public.audit_log_position_seq FROM PUBLIC, '
                            '%I, %I', service_role, schema_role);
  EXECUTE pg_catalog.format('GRANT SELECT, INSERT ON public.audit_log TO %I', service_role);
  EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE public.audit_log_position_seq TO %I',
                            service_role);
END
$grant$;

-- techtrade_audit owns exactly what the seal gave it: anything else it owns here (a SECURITY
-- DEFINER function made while the migrator was a superuser) lets that role act as the table's
-- owner. Indexes and the row type go with the table and have no entry of their own.
DO $owned$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid) AS what
             FROM pg_catalog.pg_shdepend s
            WHERE s.deptype = 'o'
              AND s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
              AND s.refobjid = 'techtrade_audit'::pg_catalog.regrole
              AND s.dbid = (SELECT oid FROM pg_catalog.pg_database
                             WHERE datname = pg_catalog.current_database())
              AND NOT (s.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                       AND s.objid IN ('public.audit_log'::pg_catalog.regclass,
                                       'public.audit_log_position_seq'::pg_catalog.regclass))
              AND NOT (s.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                       AND s.objid = 'public'::pg_catalog.regnamespace)
              AND NOT (s.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                       AND s.objid IN ('public.audit_log_refuse_change()'::pg_catalog.regprocedure,
                                       'public.audit_log_stamp()'::pg_catalog.regprocedure))
            ORDER BY 1 LOOP
    RAISE EXCEPTION 'techtrade_audit: owns % besides what the seal gave it; drop it or give it '
      'another owner (as the admin) and seal again', r.what;
  END LOOP;
END
$owned$;

COMMIT;
