-- Continuous aggregates: sample counts and summaries per device per minute and per hour, so
-- that dashboards and long-range queries read a few rows per minute instead of 3000 (50 Hz).
--
-- Every view is created WITH NO DATA, so this file runs inside the migration transaction
-- (materializing would need refresh_continuous_aggregate, which refuses a transaction block);
-- the refresh policies below fill them on their first run. Real-time aggregation is on
-- (materialized_only = false): a query also aggregates the raw rows newer than the last
-- refresh, so results are current even between refreshes.
--
-- The hourly views are built on the minute views (hierarchical continuous aggregates): an
-- hourly refresh reads 60 rows per device instead of 180 000 acceleration samples.

create materialized view location_samples_per_minute
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 minute', time) as bucket, count(*) as sample_count
from location_samples
group by device_id, bucket
with no data;

create materialized view location_samples_per_hour
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 hour', bucket) as bucket, sum(sample_count)::bigint as sample_count
from location_samples_per_minute
group by device_id, time_bucket('1 hour', bucket)
with no data;

-- Activity flags are not exclusive (several or none may be true), so each state has its own
-- count; `*_share` is the fraction of the hour's samples that report the state.
create materialized view activity_samples_per_minute
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 minute', time) as bucket,
       count(*) as sample_count,
       count(*) filter (where unknown) as unknown_count,
       count(*) filter (where stationary) as stationary_count,
       count(*) filter (where walking) as walking_count,
       count(*) filter (where running) as running_count
from activity_samples
group by device_id, bucket
with no data;

-- Time share per state per hour, counted in samples: activity samples arrive at the client's
-- steady cadence, so the share of samples reporting a state is the share of time spent in it.
-- (A time-weighted share, each sample holding until the next, needs a window function, which
-- continuous aggregates cannot contain.)
create materialized view activity_share_per_hour
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 hour', bucket) as bucket,
       sum(sample_count)::bigint as sample_count,
       sum(unknown_count)::double precision / sum(sample_count) as unknown_share,
       sum(stationary_count)::double precision / sum(sample_count) as stationary_share,
       sum(walking_count)::double precision / sum(sample_count) as walking_share,
       sum(running_count)::double precision / sum(sample_count) as running_share
from activity_samples_per_minute
group by device_id, time_bucket('1 hour', bucket)
with no data;

-- Magnitude |a| = sqrt(x²+y²+z²) in g: about 1 at rest (gravity), higher when moving.
create materialized view acceleration_per_minute
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 minute', time) as bucket,
       count(*) as sample_count,
       min(sqrt(x * x + y * y + z * z)) as magnitude_min,
       avg(sqrt(x * x + y * y + z * z)) as magnitude_avg,
       max(sqrt(x * x + y * y + z * z)) as magnitude_max
from acceleration_samples
group by device_id, bucket
with no data;

-- The hourly average is the count-weighted mean of the minute averages: exactly the mean of
-- all samples of the hour.
create materialized view acceleration_per_hour
with (timescaledb.continuous, timescaledb.materialized_only = false) as
select device_id, time_bucket('1 hour', bucket) as bucket,
       sum(sample_count)::bigint as sample_count,
       min(magnitude_min) as magnitude_min,
       sum(magnitude_avg * sample_count) / sum(sample_count) as magnitude_avg,
       max(magnitude_max) as magnitude_max
from acceleration_per_minute
group by device_id, time_bucket('1 hour', bucket)
with no data;

-- Refresh policies. A minute view is re-materialized every 2 minutes up to 1 minute ago; an
-- hourly view every 5 minutes (it only materializes complete hours; the running hour comes
-- from real-time aggregation). A refresh only recomputes buckets whose raw rows changed, so
-- the 7-day window is cheap and covers uploads from a phone that was offline for days.
-- Raw retention (RETAIN_RAW) must stay longer than this window: a refresh over a range whose
-- raw chunks were dropped would empty the aggregates there (src/db/policies.ts checks it).
select add_continuous_aggregate_policy('location_samples_per_minute',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '2 minutes');
select add_continuous_aggregate_policy('activity_samples_per_minute',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '2 minutes');
select add_continuous_aggregate_policy('acceleration_per_minute',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '2 minutes');
select add_continuous_aggregate_policy('location_samples_per_hour',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '5 minutes');
select add_continuous_aggregate_policy('activity_share_per_hour',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '5 minutes');
select add_continuous_aggregate_policy('acceleration_per_hour',
  start_offset => interval '7 days', end_offset => interval '1 minute', schedule_interval => interval '5 minutes');
