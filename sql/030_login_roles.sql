-- The two group roles may log in, so that `telemetry_reader` (Grafana, analysts) and
-- `telemetry_service` can be used directly with a password, on the embedded database's SQL
-- port as on a server. LOGIN alone opens nothing: a role without a password cannot pass
-- password or SCRAM authentication. The owner gives one when it wants the login:
--   alter role telemetry_reader password '...';
alter role telemetry_reader login;
alter role telemetry_service login;
