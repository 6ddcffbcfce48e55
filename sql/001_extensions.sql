-- TimescaleDB is required (hypertables, compression, continuous aggregates). The migration
-- runner checks that the extension is available before this file runs, so that a plain
-- PostgreSQL server is refused with one clear message and nothing is changed.
create extension if not exists timescaledb;

-- Great-circle distances for location queries without a PostGIS dependency: both ship as
-- contrib modules with PostgreSQL, in the TimescaleDB images and in the embedded build.
create extension if not exists cube;
create extension if not exists earthdistance;
