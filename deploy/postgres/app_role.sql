-- Create the role that the web, worker and beat processes log in as.
--
-- Migrations run as the role that owns the tables. The processes that serve
-- users run as this role instead: it may read and write rows but owns no
-- table, so it can neither disable the ledger's append-only triggers
-- (ALTER TABLE ... DISABLE TRIGGER needs the owner), nor TRUNCATE, nor set
-- session_replication_role (which needs a superuser). Run with psql as the
-- owner or a superuser, once per database; running it again changes nothing:
--
--   psql -v app_role=nengliangbang_app -v app_password=SECRET \
--        -v owner=nengliangbang -f deploy/postgres/app_role.sql DBNAME

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT',
              :'app_role', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role')
\gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_role')
\gexec

GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";

-- Tables and sequences that later migrations create get the same rights.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
