-- Storage sized to each kind's data rate (measured on the simulator, one phone: about 30
-- location samples, 550 activity states and, at 1 hour a day, 180 000 acceleration samples a
-- day; a phone recording all day sends 4.3 million).
--
-- acceleration_samples kept create_hypertable's default index on (time desc) beside the
-- unique (device_id, time desc, sample_id) key: 25 MB per chunk of 650 000 rows, written at
-- 50 Hz, for no query of this project (every query names its device, and the chunk range
-- already bounds time). Dropped. The sparse tables keep theirs: a few kB, and it serves
-- "all devices in this range" without reading every device's key.
drop index if exists acceleration_samples_time_idx;

-- Chunk intervals (new chunks; existing ones keep their range). Compression keeps each
-- device's rows of a chunk together (segmentby device_id) in batches of up to 1000 rows, so
-- a sparse kind compresses only when a chunk holds hundreds of a device's rows: weekly
-- location chunks held about 200 ("poor compression ratio"); 90-day chunks hold thousands,
-- and a year is four chunks. Activity states: 30 days (about 16 000 rows per device).
-- Acceleration keeps its 6 hours (sql/003): a chunk per quarter day, compressed after
-- COMPRESS_ACCELERATION_AFTER (12 h by default; src/db/policies.ts).
select set_chunk_time_interval('location_samples', interval '90 days');
select set_chunk_time_interval('activity_samples', interval '30 days');
select set_chunk_time_interval('other_samples', interval '30 days');
