-- Stays materialized: location_spans() (sql/024) read a device's whole period of per-minute
-- heartbeats and location samples on every call, so places() over 30 days took seconds
-- and a year more. The spans ("stays": a location held until the next location sample or
-- until the device went silent for more than max_gap) are now kept in a table, per device, up
-- to a watermark; location_spans() reads them there and computes only what lies after the
-- watermark. The answer is exactly that of the computation from the samples
-- (location_spans_computed(), the body of sql/024's location_spans()); pieces may be cut at
-- other instants (each job run ends its pieces at its watermark), which changes no sum,
-- visit or place.
--
-- Kept current incrementally:
-- * An upload whose samples could change materialized stays moves its device's watermark back
--   (record_upload(), in the upload's transaction). A sample at time t changes stays from
--   t - (max_gap + 1 minute) on at the earliest: a new heartbeat can close a silence only if
--   the minute before it is at most max_gap away, and a new location only changes the
--   spans after it. Everything after the watermark is computed at query time, so the
--   answer is exact at once.
-- * The job refresh_location_stays recomputes each device's stays from its watermark up to
--   6 hours ago and moves the watermark there: a late upload inside an old stay (a phone
--   offline for a week) costs a recomputation from just before its samples, not of the
--   device's history.
-- Only the default gap (2 hours, sql/024) is materialized; places() and location_spans()
-- with another max_gap compute from the samples, as before.

-- The computation from the samples: sql/024's location_spans(), renamed.
create function location_spans_computed(device integer, "from" timestamptz, "to" timestamptz, max_gap interval default '2 hours')
returns table (sample_time timestamptz, started timestamptz, ended timestamptz, latitude double precision, longitude double precision)
language sql stable as $$
  with presence as materialized (
    select device_presence(device, $2, $3, max_gap) as present
  ),
  samples as (
    select s.time, lead(s.time) over (order by s.time) as next_time, s.latitude, s.longitude
    from (
      (select l.time, l.latitude, l.longitude from location_samples l
       where l.device_id = device and l.time <= $2 order by l.time desc limit 1)
      union all
      select l.time, l.latitude, l.longitude from location_samples l
      where l.device_id = device and l.time > $2 and l.time < $3
    ) s
  )
  select s.time, lower(piece), upper(piece), s.latitude, s.longitude
  from samples s
  cross join presence p
  cross join lateral unnest(tstzmultirange(tstzrange(greatest(s.time, $2), least(coalesce(s.next_time, $3), $3))) * p.present) as piece
  where not isempty(piece)
$$;

-- The stays of each device before its watermark, computed with max_gap = 2 hours. Pieces
-- do not overlap; a stay may be cut into several pieces with the same sample_time.
create table location_stays (
  device_id   integer not null,
  sample_time timestamptz not null,
  started     timestamptz not null,
  ended       timestamptz not null check (ended > started),
  latitude    double precision not null,
  longitude   double precision not null,
  primary key (device_id, started)
);

-- Per device: location_stays holds every stay piece before materialized_until, exactly.
-- Rows of location_stays that end later are stale until the job replaces them.
create table location_stays_state (
  device_id          integer primary key,
  materialized_until timestamptz not null
);

-- Same signature and columns as before, so places() (and the dashboard calling it) read the
-- stays without a change: the table before the watermark, the computation after it.
create or replace function location_spans(device integer, "from" timestamptz, "to" timestamptz, max_gap interval default '2 hours')
returns table (sample_time timestamptz, started timestamptz, ended timestamptz, latitude double precision, longitude double precision)
language plpgsql stable as $$
declare
  materialized_until timestamptz;
begin
  if max_gap = interval '2 hours' then
    select st.materialized_until into materialized_until from location_stays_state st where st.device_id = device;
  end if;
  materialized_until := coalesce(materialized_until, '-infinity');
  if materialized_until > "from" then
    return query
      select s.sample_time, greatest(s.started, "from"), least(s.ended, "to", materialized_until), s.latitude, s.longitude
      from location_stays s
      where s.device_id = device and s.started < least("to", materialized_until) and s.ended > "from"
      order by s.started;
  end if;
  if greatest("from", materialized_until) < "to" then
    return query select * from location_spans_computed(device, greatest("from", materialized_until), "to", max_gap);
  end if;
end
$$;

-- The job: for every device with locations, recompute its stays from its watermark (or from
-- the start of a stale piece that crosses it) to 6 hours ago, then move the
-- watermark there, unless an upload moved it back meanwhile (then the next run redoes it).
-- First the minute views that presence reads are refreshed over the spans to recompute: a
-- sample uploaded after a view's last refresh, for a time before it, is not in the view yet.
create procedure refresh_location_stays(job_id integer, config jsonb)
language plpgsql as $$
declare
  margin constant interval := interval '2 hours 1 minute';
  -- More than max_gap + 1 minute behind now, so that no stay written here depends on whether
  -- the device's current silence will last (device_presence() counts a silence shorter than
  -- max_gap that runs until now as presence); 6 hours also leaves the watermark alone for
  -- the usual upload of the last hours' samples.
  target constant timestamptz := now() - interval '6 hours';
  devices integer[];
  watermarks timestamptz[];
  redo_froms timestamptz[];
  refresh_from timestamptz;
  kept_from timestamptz;
  views constant text[] := array['location_samples_per_minute', 'activity_samples_per_minute', 'acceleration_per_minute'];
begin
  insert into location_stays_state (device_id, materialized_until)
  select s.device_id, '-infinity' from device_last_seen s where s.kind = 'location'
  on conflict (device_id) do nothing;

  -- Where to recompute from: the watermark, or the start of a stale piece crossing it, but
  -- not before the device's first location (no stay starts earlier, and the minute views
  -- must not be refreshed from the beginning of time: that materializes bucket by bucket).
  select array_agg(st.device_id order by st.device_id), array_agg(st.materialized_until order by st.device_id),
         array_agg(least(greatest(least(st.materialized_until,
                                        (select min(s.started) from location_stays s where s.device_id = st.device_id and s.ended > st.materialized_until)),
                                  coalesce((select min(l.time) from location_samples l where l.device_id = st.device_id), 'infinity')),
                         target)
                   order by st.device_id)
  into devices, watermarks, redo_froms
  from location_stays_state st
  where st.materialized_until < target;
  if devices is null then
    return;
  end if;
  commit;

  -- One refresh per view over all devices' spans (a refresh recomputes only the buckets
  -- whose raw rows changed). Not before the retention policy's horizon (RETAIN_RAW): raw
  -- chunks dropped there would empty the views (as in sql/021).
  select min(f) - margin into refresh_from from unnest(redo_froms) f;
  select max(now() - (j.config ->> 'drop_after')::interval) into kept_from
  from timescaledb_information.jobs j
  where j.proc_name = 'policy_retention' and j.hypertable_name in ('location_samples', 'activity_samples', 'acceleration_samples');
  refresh_from := greatest(refresh_from, kept_from);
  if refresh_from < target then
    for v in 1 .. array_length(views, 1) loop
      call refresh_continuous_aggregate(views[v]::regclass, refresh_from, target + margin);
    end loop;
  end if;

  for i in 1 .. array_length(devices, 1) loop
    delete from location_stays s where s.device_id = devices[i] and s.ended > watermarks[i];
    if redo_froms[i] < target then
      insert into location_stays (device_id, sample_time, started, ended, latitude, longitude)
      select devices[i], c.sample_time, c.started, c.ended, c.latitude, c.longitude
      from location_spans_computed(devices[i], redo_froms[i], target, interval '2 hours') c;
    end if;
    update location_stays_state st set materialized_until = target
    where st.device_id = devices[i] and st.materialized_until = watermarks[i];
    commit;
  end loop;
end
$$;

-- Every 15 minutes: the query-time part stays under about 6 h 15 min per device.
select add_job('refresh_location_stays', interval '15 minutes');

-- record_upload() (sql/022) also moves the stays' watermark of each device whose upload
-- could change materialized stays (see the top of this file): one indexed update that
-- matches no row for an upload of recent samples.
create or replace function record_upload(devices integer[], kinds text[], first_times timestamptz[], last_times timestamptz[])
returns void
language sql volatile as $$
  with upload as (
    select * from unnest(devices, kinds, first_times, last_times) as u(device_id, kind, first_time, last_time)
  ),
  seen as (
    insert into device_last_seen as s (device_id, kind, last_sample_time, last_upload_at)
    select u.device_id, u.kind, max(u.last_time), now() from upload u group by u.device_id, u.kind
    on conflict (device_id, kind) do update
      set last_sample_time = greatest(s.last_sample_time, excluded.last_sample_time),
          last_upload_at = excluded.last_upload_at
  ),
  stays as (
    -- Every kind that device_presence() counts as a heartbeat; other_samples are not.
    update location_stays_state st set materialized_until = u.redo_from
    from (select u.device_id, min(u.first_time) - interval '2 hours 1 minute' as redo_from
          from upload u where u.kind in ('location', 'activity', 'acceleration') group by u.device_id) u
    where st.device_id = u.device_id and st.materialized_until > u.redo_from
  )
  insert into aggregate_backfill_ranges (hypertable, from_time, to_time)
  select u.kind || '_samples', u.first_time, u.last_time
  from upload u
  where u.first_time < now() - interval '6 days';
$$;

grant select, update on location_stays_state to telemetry_service;
grant select on location_stays, location_stays_state to telemetry_reader;
