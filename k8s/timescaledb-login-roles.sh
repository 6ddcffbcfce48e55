#!/bin/sh
# Runs once, when the TimescaleDB volume is created (mounted into /docker-entrypoint-initdb.d
# by docker-compose.yml and by k8s/timescaledb.yaml): the login roles the stack connects as.
# Neither holds privileges of its own; each is a member of a group role that the service's
# migration sql/020_roles.sql grants what it needs (and that later migrations grant to):
#
#   telemetry_ingest  member of telemetry_service: the service itself (find devices, insert
#                     samples). No DDL, UPDATE or DELETE: migrations and `devices add/revoke`
#                     run as the owner ($POSTGRES_USER).
#   grafana_reader    member of telemetry_reader: Grafana, which runs whatever SQL a dashboard
#                     holds, so it must not connect as the owner.
#
# The group roles are created here when missing because this script runs before the service
# has migrated; the migration then finds them and grants to them.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v ingest_password="$INGEST_DB_PASSWORD" -v reader_password="$GRAFANA_DB_PASSWORD" <<'SQL'
select 'create role telemetry_service nologin' where not exists (select from pg_roles where rolname = 'telemetry_service')
\gexec
select 'create role telemetry_reader nologin' where not exists (select from pg_roles where rolname = 'telemetry_reader')
\gexec
create role telemetry_ingest login password :'ingest_password' in role telemetry_service;
create role grafana_reader login password :'reader_password' in role telemetry_reader;
SQL
