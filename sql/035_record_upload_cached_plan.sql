-- record_upload() (sql/031) in PL/pgSQL, with the same statement: as an SQL function its
-- statement was parsed, analyzed and planned again on every call, one call per group commit;
-- PL/pgSQL keeps the plan for the session. On the TimescaleDB 2.28 server, 20 calls of five
-- uploads each in one transaction through psql: 0.49-0.62 ms a call before, 0.25-0.28 ms
-- after; the execution itself is about 0.12 ms. It runs in every group's transaction, so a
-- group of small uploads paid the planning over and over (docs/performance.md).
create or replace function record_upload(devices integer[], kinds text[], first_times timestamptz[], last_times timestamptz[])
returns void
language plpgsql volatile as $$
begin
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
end
$$;
