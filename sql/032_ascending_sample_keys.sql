-- The unique key of every sample table in ascending time: (device_id, time, sample_id).
--
-- sql/003 ordered it (device_id, time desc, sample_id) so that it would serve "newest first".
-- But samples arrive in ascending time, and in a descending index each device's new rows go
-- to the left end of its range, so every full leaf page is split in half and stays half
-- empty: 28 MB instead of 15 MB per 400 000 rows. In ascending order new rows go to the right
-- end of each device's range, where B-tree splits leave pages full. A B-tree is read in
-- either direction, so "newest first" (location_at(), the device lists) is a backward scan of
-- the same index.
--
-- On chunks that are already compressed this is the same key: their rows are in the
-- compressed batches (segmentby device_id, orderby time desc, sample_id, sql/011), which a
-- later insert checks against the unique index's columns, whatever their order, by
-- decompressing the batches that may hold the key. Written so that it can run again.
drop index if exists location_samples_device_time_id;
create unique index if not exists location_samples_device_time_sample on location_samples (device_id, time, sample_id);
drop index if exists activity_samples_device_time_id;
create unique index if not exists activity_samples_device_time_sample on activity_samples (device_id, time, sample_id);
drop index if exists acceleration_samples_device_time_id;
create unique index if not exists acceleration_samples_device_time_sample on acceleration_samples (device_id, time, sample_id);
drop index if exists other_samples_device_time_id;
create unique index if not exists other_samples_device_time_sample on other_samples (device_id, time, sample_id);
