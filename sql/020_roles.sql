-- Two group roles (NOLOGIN: nobody connects as them directly; a login role is made a member):
--
--   telemetry_service  what the ingest service needs and nothing more: find devices by token,
--                      insert samples (and read them back for ON CONFLICT), read which migrations
--                      ran. No UPDATE, DELETE or DDL: a compromised service cannot rewrite history
--                      or the schema. Migrations and `devices add/revoke` run as the owner.
--   telemetry_reader   Grafana and analysts: SELECT on samples, aggregates and views, and on the
--                      devices' names but not their token hashes.
--
-- A login role, e.g. on a real server:
--   create role telemetry_ingest login password '...' in role telemetry_service;
--   create role grafana_reader login password '...' in role telemetry_reader;
-- (k8s/timescaledb-login-roles.sh does both, for docker compose and Kubernetes).
--
-- Roles belong to the whole server, not to one database, so they may exist already (another
-- database on the same server, or the compose init script): create them only when missing.
do $$
begin
  if not exists (select from pg_roles where rolname = 'telemetry_service') then
    create role telemetry_service nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'telemetry_reader') then
    create role telemetry_reader nologin;
  end if;
end
$$;

grant usage on schema public to telemetry_service, telemetry_reader;

-- The service: authentication, ingestion, the start-up check of applied migrations.
grant select on devices to telemetry_service;
grant select, insert on location_samples, activity_samples, acceleration_samples, other_samples to telemetry_service;
grant select on schema_migrations to telemetry_service;

-- Readers: everything that exists now (tables, views, continuous aggregates) and, through
-- default privileges, what later migrations (run by the same owner) create.
grant select on all tables in schema public to telemetry_reader;
alter default privileges in schema public grant select on tables to telemetry_reader;
-- Token hashes are of no use to a reader; the rest of the devices table is.
revoke select on devices from telemetry_reader;
grant select (id, name, created_at, revoked_at) on devices to telemetry_reader;
