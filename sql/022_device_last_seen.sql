-- Device status without scans: the newest sample time of each device per kind, kept by
-- ingest with one upsert per upload, so the device-silent alert and the dashboards' device
-- lists read a few rows instead of days of 50 Hz acceleration.
create table device_last_seen (
  device_id        integer not null,
  -- The sample kind: location, activity, acceleration or other (src/codec/samples.ts).
  kind             text not null,
  -- The newest sample time ever stored for this device and kind (a backfill never moves it back).
  last_sample_time timestamptz not null,
  -- When an upload of this kind last came in (server time), whatever the samples' times.
  last_upload_at   timestamptz not null default now(),
  primary key (device_id, kind)
);

-- What already exists: one index probe per device and table (newest row by the
-- (device_id, time desc) key), not a scan.
insert into device_last_seen (device_id, kind, last_sample_time, last_upload_at)
select d.id, k.kind, k.last_time, k.last_time
from devices d
cross join lateral (
  select 'location' as kind, (select max(time) from location_samples s where s.device_id = d.id) as last_time
  union all select 'activity', (select max(time) from activity_samples s where s.device_id = d.id)
  union all select 'acceleration', (select max(time) from acceleration_samples s where s.device_id = d.id)
  union all select 'other', (select max(time) from other_samples s where s.device_id = d.id)
) k
where k.last_time is not null;

-- The bookkeeping of one upload, in its transaction (src/db/upload-bookkeeping.ts calls it):
-- per kind present, the first and last sample time. Moves each kind's last-seen forward, and
-- notes for the backfill job (sql/021) the ranges that reach further back than the refresh
-- policies' 7-day window (6 days here: an hour's margin against a clock between the two).
-- Uploads of recent samples, nearly all of them, add no row there.
create function record_upload(devices integer[], kinds text[], first_times timestamptz[], last_times timestamptz[])
returns void
language sql volatile as $$
  -- One row per (device, kind, upload); a group commit may hold several uploads of one device,
  -- and an upsert may touch each row of device_last_seen once per statement.
  with upload as (
    select * from unnest(devices, kinds, first_times, last_times) as u(device_id, kind, first_time, last_time)
  ),
  seen as (
    insert into device_last_seen as s (device_id, kind, last_sample_time, last_upload_at)
    select u.device_id, u.kind, max(u.last_time), now() from upload u group by u.device_id, u.kind
    on conflict (device_id, kind) do update
      set last_sample_time = greatest(s.last_sample_time, excluded.last_sample_time),
          last_upload_at = excluded.last_upload_at
  )
  insert into aggregate_backfill_ranges (hypertable, from_time, to_time)
  select u.kind || '_samples', u.first_time, u.last_time
  from upload u
  where u.first_time < now() - interval '6 days';
$$;

grant select, insert, update on device_last_seen to telemetry_service;
grant execute on function record_upload(integer[], text[], timestamptz[], timestamptz[]) to telemetry_service;
grant select on device_last_seen to telemetry_reader;
