#!/bin/sh
# Runs once, when docker compose creates the TimescaleDB volume (mounted into
# /docker-entrypoint-initdb.d): the login role Grafana connects as. It holds no privileges of
# its own: it is a member of `telemetry_reader`, the read-only group role that the service's
# migration sql/020_roles.sql grants SELECT on the samples, aggregates and views (and on the
# tables later migrations create). Grafana runs whatever SQL a dashboard holds, so it must not
# connect as the owner. The group role is created here when missing because this script runs
# before the service has migrated; the migration then finds it and grants to it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="$GRAFANA_DB_PASSWORD" <<'SQL'
select 'create role telemetry_reader nologin' where not exists (select from pg_roles where rolname = 'telemetry_reader')
\gexec
create role grafana_reader login password :'reader_password' in role telemetry_reader;
SQL
