#!/bin/sh
# Runs once, when docker compose creates the TimescaleDB volume (mounted into
# /docker-entrypoint-initdb.d): a login role for Grafana that can read the samples and nothing
# else. Grafana runs whatever SQL a dashboard holds, so it must not connect as the owner.
# Tables the service's migrations create later are covered by the default privileges.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="$GRAFANA_DB_PASSWORD" -v owner="$POSTGRES_USER" <<'SQL'
create role grafana_reader login password :'reader_password';
grant usage on schema public to grafana_reader;
alter default privileges for role :"owner" in schema public grant select on tables to grafana_reader;
SQL
