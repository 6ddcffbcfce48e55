-- Activity by time, not by sample count. Activity samples are change events (a new state a
-- few seconds after the motion changes, then every few seconds to an hour), so the share of
-- samples reporting a state is not the share of time spent in it (stationary: 42 % of the
-- samples, 54 % of the time, on a month of real data).
--
-- Each sample is read as one exclusive state, the most active flag it sets:
-- 4 running > 3 walking > 2 stationary > 1 unknown > 0 none (no flag set at all, which the
-- classifier reports on a bike or in a vehicle; it is not the same as `unknown`).

-- Per device and minute: the state in force at the end of the minute (its last sample's) and
-- how many samples set no flag. A continuous aggregate, so dashboards read one row per minute
-- and late uploads are counted (the backfill job, sql/021, refreshes every view of a table).
create materialized view activity_state_per_minute
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 minute', time) as bucket,
       last(case when running then 4 when walking then 3 when stationary then 2 when unknown then 1 else 0 end, time) as last_state,
       count(*) as sample_count,
       count(*) filter (where not (unknown or stationary or walking or running)) as no_flag_count
from activity_samples
group by device_id, bucket
with no data;

select add_continuous_aggregate_policy('activity_state_per_minute',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '2 minutes');

-- Time-weighted shares of each state per bucket: a state holds from its minute until the
-- device's next activity minute, for at most max_gap (the gap rule of places(), sql/024: a
-- device silent for longer was not observed). `observed` is the time covered; the shares
-- are fractions of it and add up to 1. Minute resolution: a state change inside a minute
-- counts from the minute's start.
--   select * from activity_time_shares(1, now() - interval '1 day', now(), '1 hour');
create function activity_time_shares(
  device integer, "from" timestamptz, "to" timestamptz,
  bucket_width interval default '1 hour', max_gap interval default '2 hours'
) returns table (
  bucket timestamptz, observed interval,
  none_share double precision, unknown_share double precision, stationary_share double precision,
  walking_share double precision, running_share double precision
)
language sql stable as $$
  with minutes as (
    select m.bucket as started,
           least(coalesce(lead(m.bucket) over (order by m.bucket), $3), m.bucket + max_gap, $3) as ended,
           m.last_state
    from activity_state_per_minute m
    where m.device_id = device and m.bucket >= $2 - max_gap and m.bucket < $3
  ),
  pieces as (
    select b as bucket, m.last_state,
           extract(epoch from least(m.ended, b + bucket_width) - greatest(m.started, b, $2)) as seconds
    from minutes m
    cross join lateral generate_series(time_bucket(bucket_width, greatest(m.started, $2)), m.ended - interval '1 microsecond', bucket_width) b
    where m.ended > greatest(m.started, $2)
  )
  select p.bucket, make_interval(secs => sum(p.seconds)),
         coalesce(sum(p.seconds) filter (where p.last_state = 0), 0) / sum(p.seconds),
         coalesce(sum(p.seconds) filter (where p.last_state = 1), 0) / sum(p.seconds),
         coalesce(sum(p.seconds) filter (where p.last_state = 2), 0) / sum(p.seconds),
         coalesce(sum(p.seconds) filter (where p.last_state = 3), 0) / sum(p.seconds),
         coalesce(sum(p.seconds) filter (where p.last_state = 4), 0) / sum(p.seconds)
  from pieces p
  where p.seconds > 0
  group by p.bucket
  order by p.bucket
$$;

grant select on activity_state_per_minute to telemetry_reader;
