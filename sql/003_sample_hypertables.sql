-- One hypertable per sample kind, typed columns, `time` as the partitioning dimension.
--
-- Every table has the same key: (device_id, sample_id, time) is unique, so a retried upload
-- inserts nothing twice (the writer uses ON CONFLICT DO NOTHING and counts duplicates). The
-- unique index is ordered (device_id, time desc, sample_id) so that it also serves the most
-- common query, "this device, this time range, newest first", without a second index.
--
-- device_id has no foreign key to devices: a per-row key check would cost on every 50 Hz
-- insert, the service alone writes these tables, and devices are revoked, never deleted.

-- Locations are significant-change updates (a few hundred a day per device): week-long chunks
-- keep the chunk count small.
create table location_samples (
  time      timestamptz not null,
  device_id integer not null,
  sample_id bigint not null,
  latitude  double precision not null check (latitude between -90 and 90),
  longitude double precision not null check (longitude between -180 and 180)
);
select create_hypertable('location_samples', by_range('time', interval '7 days'));
create unique index location_samples_device_time_id on location_samples (device_id, time desc, sample_id);

-- Activity states arrive every few seconds to minutes: also sparse, also weekly chunks.
create table activity_samples (
  time       timestamptz not null,
  device_id  integer not null,
  sample_id  bigint not null,
  unknown    boolean not null,
  stationary boolean not null,
  walking    boolean not null,
  running    boolean not null
);
select create_hypertable('activity_samples', by_range('time', interval '7 days'));
create unique index activity_samples_device_time_id on activity_samples (device_id, time desc, sample_id);

-- Acceleration is 50 Hz: 4.3 million rows per device per day. Six-hour chunks keep a chunk
-- of ~100 devices (about 100 million rows with its indexes) within a quarter of a database
-- server's memory, which is where TimescaleDB's insert speed holds up.
create table acceleration_samples (
  time      timestamptz not null,
  device_id integer not null,
  sample_id bigint not null,
  x         double precision not null,
  y         double precision not null,
  z         double precision not null
);
select create_hypertable('acceleration_samples', by_range('time', interval '6 hours'));
create unique index acceleration_samples_device_time_id on acceleration_samples (device_id, time desc, sample_id);

-- Kinds the service does not know yet are kept verbatim (Any type URL and payload bytes), so
-- they can be decoded later once their schema is known.
create table other_samples (
  time      timestamptz not null,
  device_id integer not null,
  sample_id bigint not null,
  type_url  text not null,
  payload   bytea not null
);
select create_hypertable('other_samples', by_range('time', interval '7 days'));
create unique index other_samples_device_time_id on other_samples (device_id, time desc, sample_id);
