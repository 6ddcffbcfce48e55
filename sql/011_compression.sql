-- Native compression for the raw hypertables. The policy that compresses chunks older than
-- COMPRESS_AFTER is added at startup by src/db/policies.ts (the age is configuration).
--
-- segmentby device_id: every query filters on one device, and a device's rows in a chunk
-- compress together (values of one sensor change slowly, so delta/Gorilla encoding shines).
-- orderby time desc, sample_id: the order of the unique index (device_id, time desc,
-- sample_id), so the index's columns are all segmentby/orderby columns and a late insert
-- into a compressed chunk can still check uniqueness (ON CONFLICT DO NOTHING).
alter table location_samples set (timescaledb.compress,
  timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time desc, sample_id');
alter table activity_samples set (timescaledb.compress,
  timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time desc, sample_id');
alter table acceleration_samples set (timescaledb.compress,
  timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time desc, sample_id');
alter table other_samples set (timescaledb.compress,
  timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'time desc, sample_id');
