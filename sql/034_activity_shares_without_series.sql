-- activity_time_shares() (sql/026) without a series per activity minute: each minute's span
-- (until the next activity minute, at most max_gap) was cut into buckets with
-- generate_series, although nearly every span lies within one bucket. Those now skip the
-- series; only spans that cross a bucket boundary are cut. Same answers (checked row by row
-- against sql/026's on a simulated month, buckets of 1 and 30 minutes); half the time on the
-- server for 30 days of a phone (40 -> 21 ms).
create or replace function activity_time_shares(
  device integer, "from" timestamptz, "to" timestamptz,
  bucket_width interval default '1 hour', max_gap interval default '2 hours'
) returns table (
  bucket timestamptz, observed interval,
  none_share double precision, unknown_share double precision, stationary_share double precision,
  walking_share double precision, running_share double precision
)
language sql stable as $$
  with minutes as (
    select greatest(m.bucket, $2) as started,
           least(coalesce(lead(m.bucket) over (order by m.bucket), $3), m.bucket + max_gap, $3) as ended,
           m.last_state
    from activity_state_per_minute m
    where m.device_id = device and m.bucket >= $2 - max_gap and m.bucket < $3
  ),
  spans as (
    select mi.started, mi.ended, mi.last_state, time_bucket(bucket_width, mi.started) as first_bucket
    from minutes mi
    where mi.ended > mi.started
  ),
  pieces as (
    select s.first_bucket as bucket, s.last_state, extract(epoch from s.ended - s.started) as seconds
    from spans s
    where s.ended <= s.first_bucket + bucket_width
    union all
    select b, s.last_state, extract(epoch from least(s.ended, b + bucket_width) - greatest(s.started, b))
    from spans s
    cross join lateral generate_series(s.first_bucket, s.ended - interval '1 microsecond', bucket_width) b
    where s.ended > s.first_bucket + bucket_width
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
